"""A subscription's effective terms (catalog's wire message) as the pricing engine's plan, and its usage.

The usage charges' meters become metering queries; their answers become the engine's usage: a quantity,
matrix usage for a matrix price (the meter grouped by the matrix's dimensions), or for a percentage price the
meter's value of each event in event order (each event is rated on its own).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tally.api.catalog.v1 import catalog_service_pb2 as cat
from tally.domain.errors import FailedPrecondition, FieldViolation, InvalidArgument
from tally.invoicing.billing.peers import GroupedQuantity, UsageQuery
from tally.mesh.wire import timestamp_from_wire
from tally.pricing import (
    Charge,
    ChargeUsage,
    EventValues,
    MatrixPrice,
    MatrixUsage,
    MatrixUsageEntry,
    PercentagePrice,
    Period,
    PlanVersion,
)
from tally.pricing_wire import Reader, charge_from_wire, discount_from_wire

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class BillingTerms:
    """What one billing period of a subscription is priced with."""

    subscription_id: str
    customer_id: str
    currency: str
    period: Period
    plan: PlanVersion
    meters: Mapping[str, str]
    """Meter id per usage charge id."""

    def usage_charges(self) -> list[Charge]:
        return [charge for charge in self.plan.charges if charge.id in self.meters]


def _period(message: cat.EffectiveTerms) -> Period:
    start = timestamp_from_wire(message.billing_period.start)
    end = timestamp_from_wire(message.billing_period.end)
    if start is None or end is None:
        raise InvalidArgument.field("terms.billing_period", "is missing")
    return Period(start, end)


def terms_from_wire(message: cat.EffectiveTerms) -> BillingTerms:
    """The engine plan of ``message``; InvalidArgument naming every unreadable field."""
    read = Reader()
    problems: list[FieldViolation] = []
    charges: list[Charge] = []
    meters: dict[str, str] = {}
    for field, group in (
        ("terms.recurring_fees", message.recurring_fees),
        ("terms.usage_charges", message.usage_charges),
    ):
        for index, wire in enumerate(group):
            try:
                charge = charge_from_wire(wire, field=f"{field}[{index}]")
            except InvalidArgument as exc:
                problems.extend(exc.violations)
                continue
            charges.append(charge)
            if wire.price.meter_id:
                meters[charge.id] = wire.price.meter_id
    discounts = [
        discount_from_wire(read, discount, f"terms.discounts[{index}]")
        for index, discount in enumerate(message.discounts)
    ]
    minimum = (
        read.decimal(message.minimum_commitment.amount, "terms.minimum_commitment.amount")
        if message.HasField("minimum_commitment")
        else None
    )
    maximum = (
        read.decimal(message.maximum.amount, "terms.maximum.amount") if message.HasField("maximum") else None
    )
    problems.extend(read.violations)
    if problems:
        raise InvalidArgument(problems)
    return BillingTerms(
        subscription_id=message.subscription_id,
        customer_id=message.customer_id,
        currency=message.currency,
        period=_period(message),
        plan=PlanVersion(message.currency, tuple(charges), minimum, maximum, tuple(discounts)),
        meters=meters,
    )


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


def active_interval(subscription: cat.Subscription) -> Period:
    """From the start to the cancellation or end (whichever is first), or far in the future."""
    start = timestamp_from_wire(subscription.start_at)
    if start is None:
        raise InvalidArgument.field("subscription.start_at", "is missing")
    ends = [
        moment
        for moment in (timestamp_from_wire(subscription.cancel_at), timestamp_from_wire(subscription.end_at))
        if moment
    ]
    end = min(ends) if ends else datetime(9999, 1, 1, tzinfo=start.tzinfo)
    return Period(start, end)
