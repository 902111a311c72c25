"""Usage as billing reads it (pure): the metering queries a period's terms need, their answers as the pricing
engine's usage, what an invoice billed for usage, and late usage waiting to correct it.

A usage charge's meter becomes a query; its answer becomes a quantity, matrix usage for a matrix price (the meter
grouped by the matrix's dimensions), or for a percentage price the meter's value of each event in event order
(each event is rated on its own).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from tally.domain.errors import FailedPrecondition
from tally.invoicing.billing.drafting import Adjustment, Draft, DraftLine
from tally.invoicing.domain import Invoice, InvoiceLine, LineKind
from tally.pricing import (
    BillingTerms,
    Charge,
    ChargeUsage,
    EventValues,
    MatrixPrice,
    MatrixUsage,
    MatrixUsageEntry,
    PercentagePrice,
    Period,
)

ZERO = Decimal(0)
_USAGE_KINDS = (LineKind.USAGE, LineKind.MINIMUM_TRUE_UP, LineKind.DISCOUNT)


@dataclass(frozen=True, slots=True)
class UsageQuery:
    """One meter's quantity for one customer over a period, optionally grouped."""

    customer: str
    meter_id: str
    period: Period
    group_by: tuple[str, ...] = ()


GroupedQuantity = dict[tuple[tuple[str, str], ...], Decimal]
"""Quantity per group (sorted (key, value) pairs; the empty tuple is the ungrouped total)."""


@dataclass(frozen=True, slots=True)
class LateUsage:
    """Usage that changed after its period was invoiced (a UsageLate message), waiting for the customer's next
    invoice to correct it."""

    id: str
    customer: str
    """The customer's external id, as metering names it."""
    meter_ids: tuple[str, ...]
    event_ids: tuple[str, ...]
    period: Period
    applied_by: frozenset[str] = frozenset()
    """Subscriptions whose invoices already account for it (it stays pending for the customer's others)."""


def _quantity_charges(terms: BillingTerms) -> list[Charge]:
    return [charge for charge in terms.usage_charges() if not isinstance(charge.price, PercentagePrice)]


def usage_queries(terms: BillingTerms, customer: str, period: Period) -> list[UsageQuery]:
    """One quantity query per usage charge priced on a quantity, in plan order."""
    queries = []
    for charge in _quantity_charges(terms):
        group_by = charge.price.dimensions if isinstance(charge.price, MatrixPrice) else ()
        queries.append(UsageQuery(customer, terms.meters[charge.id], period, tuple(group_by)))
    return queries


def value_queries(terms: BillingTerms, customer: str, period: Period) -> dict[str, UsageQuery]:
    """Per percentage-priced charge id: the query for its meter's values of each event of the period."""
    return {
        charge.id: UsageQuery(customer, terms.meters[charge.id], period)
        for charge in terms.usage_charges()
        if isinstance(charge.price, PercentagePrice)
    }


def usage_from_quantities(
    terms: BillingTerms,
    answers: Sequence[GroupedQuantity],
    event_values: Mapping[str, Sequence[Decimal]] | None = None,
) -> dict[str, ChargeUsage]:
    """The engine usage per usage charge from the answers to ``usage_queries`` (same order) and the event
    values of the percentage-priced charges (``value_queries``)."""
    usage: dict[str, ChargeUsage] = {}
    event_values = event_values or {}
    for charge in terms.usage_charges():
        if isinstance(charge.price, PercentagePrice):
            if charge.id not in event_values:
                raise FailedPrecondition(
                    f"charge {charge.id!r} is priced per event: its event values are missing"
                )
            usage[charge.id] = EventValues(tuple(event_values[charge.id]))
    for charge, grouped in zip(_quantity_charges(terms), answers, strict=True):
        if isinstance(charge.price, MatrixPrice):
            dimensions = charge.price.dimensions
            entries = []
            for key, quantity in sorted(grouped.items()):
                values = dict(key)
                entries.append(MatrixUsageEntry(tuple(values.get(d, "") for d in dimensions), quantity))
            usage[charge.id] = MatrixUsage(tuple(entries))
        else:
            usage[charge.id] = sum(grouped.values(), ZERO)
    return usage


def usage_subtotal(lines: Iterable[InvoiceLine | DraftLine]) -> Decimal:
    """What lines bill for usage: usage lines, true-up, discounts and the cap (not fees, credits or corrections
    of other invoices)."""
    total = ZERO
    for line in lines:
        if line.kind in _USAGE_KINDS or (line.kind is LineKind.ADJUSTMENT and not line.corrects_invoice_id):
            total += line.amount.amount
    return total


def charge_quantity(usage: ChargeUsage | None) -> Decimal:
    """How much of a charge was used, whatever its shape: a quantity, groups or matrix entries summed, events
    counted."""
    if usage is None:
        return ZERO
    if isinstance(usage, Decimal):
        return usage
    if isinstance(usage, Mapping):
        return sum((charge_quantity(part) for part in usage.values()), ZERO)
    if isinstance(usage, MatrixUsage):
        return sum((entry.quantity for entry in usage.entries), ZERO)
    return Decimal(len(usage.values))


def correction(
    invoice: Invoice, lates: Sequence[LateUsage], repriced: Draft, corrected: Decimal
) -> Adjustment | None:
    """The adjustment correcting a finalized ``invoice`` whose period, re-priced with today's usage, bills
    ``repriced``; ``corrected`` is what earlier corrections already added. None when nothing changed."""
    delta = usage_subtotal(repriced.lines) - (usage_subtotal(invoice.lines) + corrected)
    if delta == 0:
        return None
    events = tuple(dict.fromkeys(event for late in lates for event in late.event_ids))
    return Adjustment(
        description=f"Usage corrections for invoice {invoice.number} ({len(events)} events)",
        amount=delta,
        corrects_invoice_id=invoice.id,
        service_period=Period(invoice.period.start, invoice.period.end),
        event_ids=events,
    )
