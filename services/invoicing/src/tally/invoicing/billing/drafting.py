"""Drafting an invoice (pure): a subscription's period priced into rounded lines, tax, credits and amount due.

``tally.pricing.period`` drafts the period (fees, usage, discounts, minimum and maximum, R1 and R2, credit before
and after tax), as quoting's estimates do. What invoicing adds:
- corrections of finalized invoices whose usage changed since (one ADJUSTMENT line per corrected invoice, taxed);
- threshold invoices already issued in the period: each netted out by a negative ADJUSTMENT line carrying
  exactly the subtotal and tax it billed, so the period is billed once in total;
- the rate of each line from a tax engine (``taxes.py``: by default the customer's rate, none if exempt);
- the draft as an invoice (``invoice_from_draft``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
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
from tally.money import Money, round_line
from tally.pricing import ChargeUsage, CreditGrant, LedgerEntry, Period, PlanVersion
from tally.pricing.period import (
    DraftLine,
    PeriodInputs,
    advance_fees,
    checked_rate,
    draft_period,
    rounded_and_taxed,
    usage_charges_of,
    with_advance_fees_of,
)

__all__ = [
    "OPENING",
    "REGULAR",
    "Adjustment",
    "Draft",
    "DraftInputs",
    "DraftLine",
    "ThresholdInvoice",
    "advance_fees",
    "billing_key",
    "draft_invoice",
    "invoice_from_draft",
    "usage_charges_of",
    "with_advance_fees_of",
]


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
    credits_before_tax: Money
    """Promotional credit applied before tax (positive): it lowers the tax base."""
    tax: Money
    total: Money
    """subtotal − credits_before_tax + tax."""
    credits_applied: Money
    """Prepaid credit applied after tax (positive)."""
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


def draft_invoice(inputs: DraftInputs) -> Draft:
    """The invoice for ``inputs.period`` (``tally.pricing.period`` drafts it); InvalidArgument on inconsistent
    inputs."""
    customer, period = inputs.customer, inputs.period
    currency = customer.currency
    rate = customer.tax_rate_percent
    if rate is not None and (not rate.is_finite() or rate < 0):
        raise InvalidArgument([FieldViolation("customer.tax_rate_percent", f"must be ≥ 0, got {rate}")])

    def tax_rate(charge_id: str, kind: LineKind) -> Decimal | None:
        return inputs.tax.rate(customer, charge_id, kind)

    adjustment_rate = checked_rate(tax_rate, "", LineKind.ADJUSTMENT)
    extra: list[DraftLine] = []
    for adjustment in inputs.adjustments:
        amount, tax = rounded_and_taxed(adjustment.amount, currency, adjustment_rate)
        extra.append(
            DraftLine(
                LineKind.ADJUSTMENT,
                adjustment.description,
                amount,
                tax,
                adjustment_rate,
                service_period=adjustment.service_period,
                corrects_invoice_id=adjustment.corrects_invoice_id,
                event_ids=adjustment.event_ids,
            )
        )
    for earlier in inputs.threshold_invoices:
        extra.append(
            DraftLine(
                LineKind.ADJUSTMENT,
                f"Billed on threshold invoice {earlier.number}",
                Money(-round_line(earlier.subtotal, currency), currency),
                Money(-round_line(earlier.tax, currency), currency),
                adjustment_rate,
                service_period=period,
                corrects_invoice_id=earlier.invoice_id,
            )
        )
    drafted = draft_period(
        PeriodInputs(
            currency=currency,
            plan=inputs.plan,
            period=period,
            active=inputs.active,
            usage=inputs.usage,
            tax_rate=tax_rate,
            advance_period=inputs.advance_period,
            advance_plan=inputs.advance_plan,
            grants=inputs.grants,
            credits_as_of=inputs.credits_as_of,
            extra_lines=extra,
            meters=inputs.meters,
        )
    )
    return Draft(
        customer_id=customer.id,
        currency=currency,
        period=period,
        lines=drafted.lines,
        subtotal=drafted.subtotal,
        credits_before_tax=drafted.credits_before_tax,
        tax=drafted.tax,
        total=drafted.total,
        credits_applied=drafted.credits_applied,
        amount_due=drafted.amount_due,
        credit_entries=drafted.credit_entries,
        grants_after=drafted.grants_after,
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
        credits_before_tax=draft.credits_before_tax.amount,
        created_at=created_at,
        issued_at=issued_at,
        due_at=due_at,
        lines=lines,
        kind=kind,
        customer=customer,
    )
