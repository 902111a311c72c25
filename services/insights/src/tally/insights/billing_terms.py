"""A catalog plan version as the pricing engine's plan, and a subscription's usage read from metering the way
invoicing reads it: a quantity per charge, grouped by the matrix dimensions for a matrix price, or each event's
value for a percentage price. (Effective terms are ``tally.pricing_wire.terms_from_wire``'s ``BillingTerms``.)"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from tally.api.catalog.v1 import catalog_service_pb2 as cat
from tally.domain.errors import InvalidArgument
from tally.mesh.wire import timestamp_from_wire
from tally.pricing import (
    BillingTerms,
    BillingTiming,
    Charge,
    ChargeUsage,
    EventValues,
    FlatPrice,
    MatrixPrice,
    MatrixUsage,
    MatrixUsageEntry,
    PercentagePrice,
    Period,
    PlanVersion,
    fee_quantity,
)
from tally.pricing_wire import Reader, charge_from_wire, discount_from_wire

ZERO = Decimal(0)
Grouped = dict[tuple[tuple[str, str], ...], Decimal]


def plan_from_version(message: cat.PlanVersion) -> PlanVersion:
    """A catalog plan version (a candidate for simulation) as the engine's plan."""
    read = Reader()
    charges = [
        charge_from_wire(charge, field=f"plan_version.charges[{i}]")
        for i, charge in enumerate(message.charges)
    ]
    discounts = [
        discount_from_wire(read, d, f"plan_version.discounts[{i}]") for i, d in enumerate(message.discounts)
    ]
    if read.violations:
        raise InvalidArgument(read.violations)
    return PlanVersion(message.currency, tuple(charges), discounts=tuple(discounts))


class UsageReader(Protocol):
    async def quantities(
        self, queries: Sequence[tuple[str, str, datetime, datetime, tuple[str, ...]]]
    ) -> list[Grouped]: ...

    async def values(self, customer: str, meter_id: str, start: datetime, end: datetime) -> list[Decimal]: ...


async def period_usage(
    terms: BillingTerms, customer: str, usage: UsageReader, period: Period | None = None
) -> dict[str, ChargeUsage]:
    """The engine usage of every usage charge over ``period`` (the terms' billing period by default)."""
    span = period or terms.period
    return await charges_usage(terms, terms.usage_charges(), customer, usage, span.start, span.end)


async def charges_usage(
    terms: BillingTerms,
    charges: Sequence[Charge],
    customer: str,
    usage: UsageReader,
    start: datetime,
    end: datetime,
) -> dict[str, ChargeUsage]:
    """The engine usage of each of ``charges`` (usage charges of ``terms``) from ``start`` to ``end``:
    quantities in one batch (grouped by the dimensions of a matrix price), then each percentage price's event
    values."""
    found: dict[str, ChargeUsage] = {}
    quantity_charges = [c for c in charges if not isinstance(c.price, PercentagePrice)]
    if quantity_charges:
        answers = await usage.quantities(
            [
                (
                    customer,
                    terms.meters[c.id],
                    start,
                    end,
                    tuple(c.price.dimensions) if isinstance(c.price, MatrixPrice) else (),
                )
                for c in quantity_charges
            ]
        )
        for charge, grouped in zip(quantity_charges, answers, strict=True):
            if isinstance(charge.price, MatrixPrice):
                dimensions = charge.price.dimensions
                entries = [
                    MatrixUsageEntry(tuple(dict(key).get(d, "") for d in dimensions), quantity)
                    for key, quantity in sorted(grouped.items())
                ]
                found[charge.id] = MatrixUsage(tuple(entries))
            else:
                found[charge.id] = sum(grouped.values(), ZERO)
    for charge in charges:
        if isinstance(charge.price, PercentagePrice):
            found[charge.id] = EventValues(
                tuple(await usage.values(customer, terms.meters[charge.id], start, end))
            )
    return found


def period_fees(
    plan: PlanVersion, period: Period, active: Period, *, in_advance_for: Period | None = None
) -> dict[str, Decimal]:
    """Each flat fee's periods for ``period`` itself (an in-advance fee's for ``in_advance_for`` when given),
    prorated to the subscription's active interval."""
    fees: dict[str, Decimal] = {}
    for charge in plan.charges:
        if isinstance(charge.price, FlatPrice):
            in_advance = charge.price.timing is not BillingTiming.IN_ARREARS
            served = in_advance_for if in_advance and in_advance_for is not None else period
            periods = fee_quantity(charge.price, served, active)
            if periods > 0:
                fees[charge.id] = periods
    return fees


def active_interval(subscription: cat.Subscription) -> Period:
    """From the start to the cancellation or end (whichever is first), or far in the future."""
    start = timestamp_from_wire(subscription.start_at)
    if start is None:
        raise InvalidArgument.field("subscription.start_at", "is missing")
    ends = [
        m
        for m in (timestamp_from_wire(subscription.cancel_at), timestamp_from_wire(subscription.end_at))
        if m
    ]
    return Period(start, min(ends) if ends else datetime(9999, 1, 1, tzinfo=start.tzinfo))
