"""Drafting an invoice (pure): a subscription's period priced into rounded lines, tax, credits and amount due.

What goes on the invoice that closes ``period``:
1. recurring fees: in arrears for ``period``, in advance for ``advance_period`` (the following period on a
   regular run, the current one on an opening invoice), each prorated by seconds to the subscription's
   ``active`` interval (a mid-period start, a cancellation). In-advance fees for the following period are
   those of the plan in force then (``advance_plan``), so a plan change at the boundary bills the new fee;
2. usage charges for ``period``, then included usage, discounts, minimum commitment and maximum, in the order
   of ``tally.pricing.plan``;
3. threshold invoices already issued in the period: each netted out by a negative ADJUSTMENT line carrying
   exactly the subtotal and tax it billed, so the period is billed once in total;
4. R1 per line, R2 tax per rounded line; subtotal and tax are sums of rounded lines; total = subtotal + tax;
5. prepaid credits burn against the total after tax (the amount the customer would otherwise pay, as the
   invoicing contract has it: CREDIT lines are untaxed and amount_due = total − credits_applied), soonest
   expiring first, one CREDIT line and one ledger entry per grant touched.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal

from tally.domain.errors import FieldViolation, InvalidArgument
from tally.invoicing.billing.taxes import BilledCustomer, CustomerRate, TaxEngine
from tally.invoicing.domain import (
    CustomerSnapshot,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
)
from tally.invoicing.domain import Period as InvoicePeriod
from tally.money import Money, line_tax, round_line
from tally.pricing import (
    BillingTiming,
    BreakdownLine,
    Charge,
    ChargeUsage,
    CreditGrant,
    FlatPrice,
    LedgerEntry,
    Period,
    PlanLine,
    PlanVersion,
    burn,
    fee_quantity,
    price_plan,
)
from tally.pricing import LineKind as PlanLineKind

ZERO = Decimal(0)

_KINDS = {
    PlanLineKind.RECURRING: LineKind.RECURRING,
    PlanLineKind.USAGE: LineKind.USAGE,
    PlanLineKind.DISCOUNT: LineKind.DISCOUNT,
    PlanLineKind.MINIMUM_TRUE_UP: LineKind.MINIMUM_TRUE_UP,
    PlanLineKind.MAXIMUM: LineKind.ADJUSTMENT,
}


@dataclass(frozen=True, slots=True)
class ThresholdInvoice:
    """An invoice issued inside the period when spend crossed a threshold; netted out at period end."""

    invoice_id: str
    number: str
    subtotal: Decimal
    """Its subtotal as billed (rounded)."""
    tax: Decimal
    """Its tax as billed (rounded)."""


@dataclass(frozen=True, slots=True)
class DraftInputs:
    """Everything drafting reads; the caller gathers it (catalog, metering, credit ledger, earlier invoices)."""

    customer: BilledCustomer
    plan: PlanVersion
    period: Period
    """The billing period closing: usage and in-arrears fees are for it."""
    active: Period
    """The subscription's active interval: its start to its cancellation (or a far end); fees prorate to it."""
    usage: Mapping[str, ChargeUsage] = field(default_factory=dict)
    """Usage per usage charge id for ``period``; a missing charge used nothing."""
    advance_period: Period | None = None
    """The service period in-advance fees pay for on this invoice; None bills no in-advance fee."""
    advance_plan: PlanVersion | None = None
    """The plan in force for ``advance_period``, whose in-advance fees (and the discounts on them) this invoice
    bills instead of ``plan``'s; None: ``plan``'s own."""
    grants: Sequence[CreditGrant] = ()
    """The customer's prepaid credit grants with what is left on each."""
    credits_as_of: datetime | None = None
    """When credits burn; None is the period's last instant, so a grant usable through the period counts."""
    threshold_invoices: Sequence[ThresholdInvoice] = ()
    adjustments: Sequence[Adjustment] = ()
    meters: Mapping[str, str] = field(default_factory=dict)
    """Meter id per usage charge id, printed on usage lines."""
    tax: TaxEngine = field(default_factory=CustomerRate)
    """Which rate each line is taxed at; the customer's own rate by default."""


@dataclass(frozen=True, slots=True)
class DraftLine:
    """One invoice line: amount rounded once (R1), tax on the rounded amount (R2)."""

    kind: LineKind
    description: str
    amount: Money
    tax: Money
    tax_rate_percent: Decimal | None
    charge_id: str = ""
    quantity: Decimal | None = None
    """Usage measured, or periods billed (a proration factor) for a recurring fee."""
    unit_price: Decimal | None = None
    """Set when one unit price explains the line; tiered models explain it in ``breakdown``."""
    breakdown: tuple[BreakdownLine, ...] = ()
    service_period: Period | None = None
    corrects_invoice_id: str = ""
    meter_id: str = ""
    event_ids: tuple[str, ...] = ()
    """Usage events an ADJUSTMENT line accounts for."""
    grant_id: str = ""
    """The credit grant a CREDIT line burned."""


@dataclass(frozen=True, slots=True)
class Adjustment:
    """A correction of a finalized invoice carried on this one: usage changed after it was issued."""

    description: str
    amount: Decimal
    """Signed, unrounded; rounded (R1) and taxed (R2) like every line."""
    corrects_invoice_id: str
    service_period: Period
    event_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Draft:
    """A drafted invoice: lines in print order, CREDIT lines last, and its totals."""

    customer_id: str
    currency: str
    period: Period
    lines: tuple[DraftLine, ...]
    subtotal: Money
    """Sum of the rounded non-CREDIT lines."""
    tax: Money
    total: Money
    """subtotal + tax."""
    credits_applied: Money
    """Positive; the CREDIT lines negated."""
    amount_due: Money
    """total − credits_applied, never below zero."""
    credit_entries: tuple[LedgerEntry, ...]
    """One per grant burned, in burn order; the ledger records them when the invoice is finalized."""
    grants_after: tuple[CreditGrant, ...]
    """Grants still usable after the burn."""


OPENING = "OPENING"
"""The billing-key kind of an opening invoice: in-advance fees at the start, no usage billed."""
REGULAR = "REGULAR"
"""The billing-key kind of the invoice closing a period."""


def billing_key(subscription_id: str, period_start: datetime, kind: str) -> str:
    """What a billing run's invoice is of (subscription | period start | kind): re-running drafts the same key
    again, so a period is never billed twice."""
    return f"{subscription_id}|{period_start.isoformat()}|{kind}"


def _in_advance(charge: Charge) -> bool:
    return isinstance(charge.price, FlatPrice) and charge.price.timing is BillingTiming.IN_ADVANCE


def _charges_of(plan: PlanVersion, keep: Callable[[Charge], bool]) -> PlanVersion:
    charges = tuple(charge for charge in plan.charges if keep(charge))
    ids = {charge.id for charge in charges}
    return PlanVersion(
        plan.currency, charges, discounts=tuple(d for d in plan.discounts if d.charge_id in ids)
    )


def advance_fees(plan: PlanVersion) -> PlanVersion:
    """The in-advance fees of ``plan`` with the discounts on them: what an opening invoice bills."""
    return _charges_of(plan, _in_advance)


def usage_charges_of(plan: PlanVersion) -> PlanVersion:
    """The usage charges of ``plan`` with their own discounts: what accrues during a period."""
    return _charges_of(plan, lambda charge: not isinstance(charge.price, FlatPrice))


def with_advance_fees_of(closing: PlanVersion, following: PlanVersion) -> PlanVersion:
    """What the invoice closing a period prices: ``closing``'s usage charges, in-arrears fees, discounts,
    minimum and maximum, with ``following``'s in-advance fees (and the discounts on them) in place of its own.
    InvalidArgument if one charge id would be both (billed in arrears before and in advance after)."""
    kept = tuple(charge for charge in closing.charges if not _in_advance(charge))
    kept_ids = {charge.id for charge in kept}
    fees = advance_fees(following)
    clash = sorted(kept_ids & {charge.id for charge in fees.charges})
    if clash:
        raise InvalidArgument.field(
            "advance_plan.charges",
            f"charge {clash[0]!r} is billed in arrears for the closing period and in advance for the next one; "
            "give the new fee its own charge id",
        )
    discounts = tuple(d for d in closing.discounts if d.charge_id is None or d.charge_id in kept_ids)
    return replace(closing, charges=kept + fees.charges, discounts=discounts + fees.discounts)


def draft_invoice(inputs: DraftInputs) -> Draft:
    """The invoice for ``inputs.period``; raises InvalidArgument on inconsistent inputs."""
    customer, period = inputs.customer, inputs.period
    currency = customer.currency
    _check(inputs)
    plan = (
        inputs.plan if inputs.advance_plan is None else with_advance_fees_of(inputs.plan, inputs.advance_plan)
    )

    def rate_of(charge_id: str, kind: LineKind) -> Decimal | None:
        found = inputs.tax.rate(customer, charge_id, kind)
        if found is not None and (not found.is_finite() or found < 0):
            raise InvalidArgument.field("tax", f"rate for charge {charge_id!r} must be ≥ 0, got {found}")
        return found

    recurring: dict[str, Decimal] = {}
    fee_periods: dict[str, Period] = {}
    for charge in plan.charges:
        if not isinstance(charge.price, FlatPrice):
            continue
        served = period if charge.price.timing is BillingTiming.IN_ARREARS else inputs.advance_period
        if served is None:
            continue
        periods = fee_quantity(charge.price, served, inputs.active)
        if periods > 0:
            recurring[charge.id] = periods
            fee_periods[charge.id] = served
    priced = price_plan(plan, inputs.usage, recurring)

    lines = [
        _line(
            plan_line,
            currency,
            rate_of(plan_line.charge_id or "", _KINDS[plan_line.kind]),
            period,
            fee_periods,
            inputs.meters,
        )
        for plan_line in priced.lines
    ]
    for adjustment in inputs.adjustments:
        amount = round_line(adjustment.amount, currency)
        rate = rate_of("", LineKind.ADJUSTMENT)
        lines.append(
            DraftLine(
                LineKind.ADJUSTMENT,
                adjustment.description,
                Money(amount, currency),
                Money(ZERO if rate is None else line_tax(amount, rate, currency), currency),
                rate,
                service_period=adjustment.service_period,
                corrects_invoice_id=adjustment.corrects_invoice_id,
                event_ids=adjustment.event_ids,
            )
        )
    rate = rate_of("", LineKind.ADJUSTMENT)
    for earlier in inputs.threshold_invoices:
        lines.append(
            DraftLine(
                LineKind.ADJUSTMENT,
                f"Billed on threshold invoice {earlier.number}",
                Money(-round_line(earlier.subtotal, currency), currency),
                Money(-round_line(earlier.tax, currency), currency),
                rate,
                service_period=period,
                corrects_invoice_id=earlier.invoice_id,
            )
        )

    subtotal = sum((line.amount.amount for line in lines), ZERO)
    tax = sum((line.tax.amount for line in lines), ZERO)
    total = subtotal + tax
    as_of = inputs.credits_as_of or period.end - timedelta(microseconds=1)
    burned = burn(inputs.grants, max(total, ZERO), as_of)
    for entry in burned.entries:
        lines.append(
            DraftLine(
                LineKind.CREDIT,
                f"Prepaid credit ({entry.grant_id})",
                Money(-entry.amount, currency),
                Money.zero(currency),
                None,
                grant_id=entry.grant_id,
            )
        )
    return Draft(
        customer_id=customer.id,
        currency=currency,
        period=period,
        lines=tuple(lines),
        subtotal=Money(subtotal, currency),
        tax=Money(tax, currency),
        total=Money(total, currency),
        credits_applied=Money(burned.applied, currency),
        amount_due=Money(max(total - burned.applied, ZERO), currency),
        credit_entries=burned.entries,
        grants_after=burned.grants,
    )


def _check(inputs: DraftInputs) -> None:
    wrong = []
    currency = inputs.customer.currency
    for name, plan in (("plan", inputs.plan), ("advance_plan", inputs.advance_plan)):
        if plan is not None and plan.currency != currency:
            wrong.append(
                FieldViolation(
                    f"{name}.currency", f"must be the customer's currency {currency}, got {plan.currency}"
                )
            )
    rate = inputs.customer.tax_rate_percent
    if rate is not None and (not rate.is_finite() or rate < 0):
        wrong.append(FieldViolation("customer.tax_rate_percent", f"must be ≥ 0, got {rate}"))
    for index, grant in enumerate(inputs.grants):
        # Credit is money: a grant with sub-minor-unit credit would put unpayable fractions on the invoice.
        if grant.remaining.is_finite() and round_line(grant.remaining, currency) != grant.remaining:
            wrong.append(
                FieldViolation(f"grants[{index}].remaining", f"must be in whole minor units of {currency}")
            )
    if wrong:
        raise InvalidArgument(wrong)


def _line(
    plan_line: PlanLine,
    currency: str,
    rate: Decimal | None,
    period: Period,
    fee_periods: Mapping[str, Period],
    meters: Mapping[str, str],
) -> DraftLine:
    amount = round_line(plan_line.amount, currency)
    tax = ZERO if rate is None else line_tax(amount, rate, currency)
    single = plan_line.breakdown[0] if len(plan_line.breakdown) == 1 else None
    unit_price = single.unit_price if single is not None and single.tier_index == 0 else None
    served = fee_periods.get(plan_line.charge_id or "", period)
    return DraftLine(
        kind=_KINDS[plan_line.kind],
        description=plan_line.description,
        amount=Money(amount, currency),
        tax=Money(tax, currency),
        tax_rate_percent=rate,
        charge_id=plan_line.charge_id or "",
        quantity=plan_line.quantity,
        unit_price=unit_price,
        breakdown=() if unit_price is not None else plan_line.breakdown,
        service_period=served,
        meter_id=meters.get(plan_line.charge_id or "", ""),
    )


def invoice_from_draft(
    draft: Draft,
    *,
    invoice_id: str,
    subscription_id: str,
    customer: CustomerSnapshot | None,
    status: InvoiceStatus,
    created_at: datetime,
    number: str | None = None,
    kind: InvoiceKind = InvoiceKind.REGULAR,
    issued_at: datetime | None = None,
    due_at: datetime | None = None,
) -> Invoice:
    """The invoice a draft becomes; line ids are ``<invoice id>-<position>`` (as stored)."""
    lines = tuple(
        InvoiceLine(
            id=f"{invoice_id}-{position:04d}" if invoice_id else "",
            position=position,
            kind=line.kind,
            description=line.description,
            amount=line.amount,
            tax=line.tax,
            quantity=line.quantity,
            unit_price=line.unit_price,
            tax_rate_percent=line.tax_rate_percent,
            service_period=None
            if line.service_period is None
            else InvoicePeriod(line.service_period.start, line.service_period.end),
            # A CREDIT line names the grant it burned, so finalizing a stored draft can record the burn.
            charge_id=line.grant_id if line.kind is LineKind.CREDIT else line.charge_id,
            meter_id=line.meter_id,
            breakdown=line.breakdown,
            event_ids=line.event_ids,
            corrects_invoice_id=line.corrects_invoice_id,
        )
        for position, line in enumerate(draft.lines, start=1)
    )
    return Invoice(
        id=invoice_id,
        number=number,
        customer_id=draft.customer_id,
        subscription_id=subscription_id,
        status=status,
        currency=draft.currency,
        period=InvoicePeriod(draft.period.start, draft.period.end),
        subtotal=draft.subtotal,
        tax=draft.tax,
        credits_applied=draft.credits_applied,
        total=draft.total,
        amount_due=draft.amount_due,
        created_at=created_at,
        issued_at=issued_at,
        due_at=due_at,
        lines=lines,
        kind=kind,
        customer=customer,
    )
