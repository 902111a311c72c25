"""One billing period drafted as the invoice closing it bills it (pure): invoicing drafts its invoices and previews
with it, and quoting its estimates, so a quote, a preview and the invoice agree to the cent.

What the document closing ``period`` bills, in order:
1. flat fees: in arrears for ``period``, in advance for ``advance_period`` (the next period on the invoice closing a
   period, the first one on an opening invoice), each prorated by seconds to the ``active`` interval. In-advance
   fees are those of ``advance_plan`` when given (the plan in force for the next period), with their discounts;
2. ``price_plan``: usage (included usage first), discounts, minimum commitment (explained by its breakdown:
   the commitment and what the period billed against it), maximum;
3. R1 rounds each line, R2 taxes each rounded line at the rate ``tax_rate`` gives it;
4. extra lines the caller made (corrections of earlier invoices, threshold invoices netted), already rounded and
   taxed, join as given;
5. credit: grants applied before tax (promotional credit, a discount by another name) burn first against the
   subtotal and lower the tax base: one CREDIT line per grant and tax rate, taxed at minus R2 of its part. Then
   grants applied after tax (prepaid credit, money already paid) burn against the total: one untaxed CREDIT line
   per grant. Within each kind, soonest-expiring first (``tally.pricing.credits``);
6. totals: subtotal (every line but CREDIT lines), tax (every line's), total = subtotal − credit before tax + tax,
   amount due = total − credit after tax, never below zero.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal

from tally.domain.errors import FieldViolation, InvalidArgument
from tally.money import Money, line_tax, quantum, round_line
from tally.pricing.credits import CreditGrant, LedgerEntry, burn
from tally.pricing.models import BillingTiming, BreakdownLine, FlatPrice
from tally.pricing.plan import Charge, ChargeUsage, LineKind, PlanLine, PlanVersion, price_plan
from tally.pricing.recurring import Period, fee_quantity

ZERO = Decimal(0)


class InvoiceLineKind(enum.StrEnum):
    """What an invoice line charges for (InvoiceLineKind on the wire)."""

    RECURRING = "RECURRING"
    USAGE = "USAGE"
    MINIMUM_TRUE_UP = "MINIMUM_TRUE_UP"
    DISCOUNT = "DISCOUNT"
    CREDIT = "CREDIT"
    ADJUSTMENT = "ADJUSTMENT"


_KINDS = {
    LineKind.RECURRING: InvoiceLineKind.RECURRING,
    LineKind.USAGE: InvoiceLineKind.USAGE,
    LineKind.DISCOUNT: InvoiceLineKind.DISCOUNT,
    LineKind.MINIMUM_TRUE_UP: InvoiceLineKind.MINIMUM_TRUE_UP,
    LineKind.MAXIMUM: InvoiceLineKind.ADJUSTMENT,
}

TaxRate = Callable[[str, InvoiceLineKind], Decimal | None]
"""The rate a line is taxed at, in percent, by its charge id ("" for lines of no charge) and kind; None: untaxed."""


def no_tax(charge_id: str, kind: InvoiceLineKind) -> Decimal | None:
    return None


@dataclass(frozen=True, slots=True)
class DraftLine:
    """One line: amount rounded once (R1), tax on the rounded amount (R2)."""

    kind: InvoiceLineKind
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
    meter_id: str = ""
    corrects_invoice_id: str = ""
    """The earlier invoice a correction line adjusts."""
    event_ids: tuple[str, ...] = ()
    """Usage events a correction line accounts for."""
    grant_id: str = ""
    """The credit grant a CREDIT line burned."""


@dataclass(frozen=True, slots=True)
class PeriodInputs:
    """Everything drafting a period reads; the caller gathers it (terms, usage, credit, earlier documents)."""

    currency: str
    plan: PlanVersion
    period: Period
    """The billing period closing: usage and in-arrears fees are for it."""
    active: Period
    """The subscription's active interval; fees prorate to it."""
    usage: Mapping[str, ChargeUsage] = field(default_factory=dict)
    """Usage per usage charge id for ``period``; a missing charge used nothing."""
    tax_rate: TaxRate = no_tax
    advance_period: Period | None = None
    """The service period in-advance fees pay for on this document; None bills no in-advance fee."""
    advance_plan: PlanVersion | None = None
    """The plan in force for ``advance_period``, whose in-advance fees (and their discounts) are billed instead of
    ``plan``'s; None: ``plan``'s own."""
    grants: Sequence[CreditGrant] = ()
    """The customer's credit with what is left on each grant."""
    credits_as_of: datetime | None = None
    """When credit burns; None is the period's last instant, so a grant usable through the period counts."""
    extra_lines: Sequence[DraftLine] = ()
    """Lines the caller rounded and taxed itself, billed after the plan's."""
    meters: Mapping[str, str] = field(default_factory=dict)
    """Meter id per usage charge id, carried on usage lines."""


@dataclass(frozen=True, slots=True)
class PeriodDraft:
    """A drafted period: lines in print order (CREDIT lines last) and its totals."""

    currency: str
    period: Period
    lines: tuple[DraftLine, ...]
    subtotal: Money
    """Every line but CREDIT lines, before tax."""
    credits_before_tax: Money
    """Credit applied before tax (positive): it lowers the tax base."""
    tax: Money
    """Every line's tax, CREDIT lines' negative tax included."""
    credits_applied: Money
    """Credit applied after tax (positive)."""
    credit_entries: tuple[LedgerEntry, ...]
    """One per grant and burn, before-tax burns first; the ledger records them when the document is issued."""
    grants_after: tuple[CreditGrant, ...]
    """Grants still usable after the burn."""

    @property
    def tax_base(self) -> Money:
        """What tax is computed on: the subtotal less the credit applied before tax."""
        return self.subtotal - self.credits_before_tax

    @property
    def total(self) -> Money:
        return self.tax_base + self.tax

    @property
    def amount_due(self) -> Money:
        return Money(max(self.total.amount - self.credits_applied.amount, ZERO), self.currency)


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


def _check(inputs: PeriodInputs) -> None:
    wrong = []
    currency = inputs.currency
    for name, plan in (("plan", inputs.plan), ("advance_plan", inputs.advance_plan)):
        if plan is not None and plan.currency != currency:
            wrong.append(
                FieldViolation(
                    f"{name}.currency", f"must be the customer's currency {currency}, got {plan.currency}"
                )
            )
    for index, grant in enumerate(inputs.grants):
        # Credit is money: a grant with sub-minor-unit credit would put unpayable fractions on the invoice.
        if grant.remaining.is_finite() and round_line(grant.remaining, currency) != grant.remaining:
            wrong.append(
                FieldViolation(f"grants[{index}].remaining", f"must be in whole minor units of {currency}")
            )
    if wrong:
        raise InvalidArgument(wrong)


def checked_rate(tax_rate: TaxRate, charge_id: str, kind: InvoiceLineKind) -> Decimal | None:
    """``tax_rate``'s answer, refused unless it is a finite percentage ≥ 0."""
    found = tax_rate(charge_id, kind)
    if found is not None and (not found.is_finite() or found < 0):
        raise InvalidArgument.field("tax", f"rate for charge {charge_id!r} must be ≥ 0, got {found}")
    return found


def rounded_and_taxed(amount: Decimal, currency: str, rate: Decimal | None) -> tuple[Money, Money]:
    """``amount`` rounded (R1) and its tax at ``rate`` (R2, none when untaxed)."""
    rounded = round_line(amount, currency)
    tax = ZERO if rate is None else line_tax(rounded, rate, currency)
    return Money(rounded, currency), Money(tax, currency)


def _plan_line(
    line: PlanLine, currency: str, rate: Decimal | None, served: Period, meters: Mapping[str, str]
) -> DraftLine:
    single = line.breakdown[0] if len(line.breakdown) == 1 else None
    unit_price = single.unit_price if single is not None and single.tier_index == 0 else None
    charge_id = line.charge_id or ""
    amount, tax = rounded_and_taxed(line.amount, currency, rate)
    return DraftLine(
        _KINDS[line.kind],
        line.description,
        amount,
        tax,
        rate,
        charge_id=charge_id,
        quantity=line.quantity,
        unit_price=unit_price,
        breakdown=() if unit_price is not None else line.breakdown,
        service_period=served,
        meter_id=meters.get(charge_id, ""),
    )


def _shares(amount: Decimal, bases: Sequence[Decimal], currency: str) -> list[Decimal]:
    """``amount`` split over ``bases`` in proportion, in whole minor units, largest remainder first, none above
    its base (``amount`` is at most their sum)."""
    step = quantum(currency)
    whole = sum(bases, ZERO)
    if whole <= 0:
        return [ZERO for _ in bases]
    exact = [amount * base / whole for base in bases]
    floors = [(share // step) * step for share in exact]
    left = int((amount - sum(floors, ZERO)) / step)
    order = sorted(range(len(bases)), key=lambda i: (-(exact[i] - floors[i]), i))
    for index in order:
        if left <= 0:
            break
        if floors[index] + step <= bases[index]:
            floors[index] += step
            left -= 1
    return floors


def _credit_before_tax(
    entries: Sequence[LedgerEntry], labels: Mapping[str, str], lines: Sequence[DraftLine], currency: str
) -> list[DraftLine]:
    """CREDIT lines for credit burned before tax: each grant's part split over the tax rates of the lines it
    reduces, in proportion to what each rate still bills, each part taxed at minus R2 of it."""
    bases: dict[Decimal | None, Decimal] = {}
    for line in lines:
        bases[line.tax_rate_percent] = bases.get(line.tax_rate_percent, ZERO) + line.amount.amount
    rates = [rate for rate, base in bases.items() if base > 0]
    left = [bases[rate] for rate in rates]
    credit: list[DraftLine] = []
    for entry in entries:
        for index, share in enumerate(_shares(entry.amount, left, currency)):
            if share <= 0:
                continue
            rate = rates[index]
            left[index] -= share
            tax = ZERO if rate is None else line_tax(share, rate, currency)
            credit.append(
                DraftLine(
                    InvoiceLineKind.CREDIT,
                    labels.get(entry.grant_id) or f"Promotional credit ({entry.grant_id})",
                    Money(-share, currency),
                    Money(-tax, currency),
                    rate,
                    grant_id=entry.grant_id,
                )
            )
    return credit


def draft_period(inputs: PeriodInputs) -> PeriodDraft:
    """The document closing ``inputs.period``; InvalidArgument on inconsistent inputs."""
    currency, period = inputs.currency, inputs.period
    _check(inputs)
    plan = (
        inputs.plan if inputs.advance_plan is None else with_advance_fees_of(inputs.plan, inputs.advance_plan)
    )
    recurring: dict[str, Decimal] = {}
    served_by: dict[str, Period] = {}
    for charge in plan.charges:
        if not isinstance(charge.price, FlatPrice):
            continue
        served = period if charge.price.timing is BillingTiming.IN_ARREARS else inputs.advance_period
        if served is None:
            continue
        periods = fee_quantity(charge.price, served, inputs.active)
        if periods > 0:
            recurring[charge.id] = periods
            served_by[charge.id] = served

    lines = [
        _plan_line(
            line,
            currency,
            checked_rate(inputs.tax_rate, line.charge_id or "", _KINDS[line.kind]),
            served_by.get(line.charge_id or "", period),
            inputs.meters,
        )
        for line in price_plan(plan, inputs.usage, recurring).lines
    ]
    lines.extend(inputs.extra_lines)
    subtotal = sum((line.amount.amount for line in lines), ZERO)

    as_of = inputs.credits_as_of or period.end - timedelta(microseconds=1)
    promotional = [grant for grant in inputs.grants if grant.before_tax]
    before = burn(promotional, max(subtotal, ZERO), as_of)
    labels = {grant.id: grant.label for grant in inputs.grants}
    credit = _credit_before_tax(before.entries, labels, lines, currency)
    tax = sum((line.tax.amount for line in (*lines, *credit)), ZERO)
    total = subtotal - before.applied + tax
    after = burn([grant for grant in inputs.grants if not grant.before_tax], max(total, ZERO), as_of)
    credit.extend(
        DraftLine(
            InvoiceLineKind.CREDIT,
            labels.get(entry.grant_id) or f"Prepaid credit ({entry.grant_id})",
            Money(-entry.amount, currency),
            Money(round_line(ZERO, currency), currency),
            None,
            grant_id=entry.grant_id,
        )
        for entry in after.entries
    )
    # Every amount is a sum of whole minor units: written at the currency's scale (0.00, not 0).
    return PeriodDraft(
        currency=currency,
        period=period,
        lines=(*lines, *credit),
        subtotal=Money(round_line(subtotal, currency), currency),
        credits_before_tax=Money(round_line(before.applied, currency), currency),
        tax=Money(round_line(tax, currency), currency),
        credits_applied=Money(round_line(after.applied, currency), currency),
        credit_entries=before.entries + after.entries,
        grants_after=before.grants + after.grants,
    )
