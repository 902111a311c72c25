"""Flat recurring fees: proration by seconds, and which invoice (period start or end) bills a fee."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from tally.domain.errors import InvalidArgument
from tally.pricing.models import ZERO, BillingTiming, FlatPrice

ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open span of time [start, end), as tally.api.common.v1.Period."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            # Naive datetimes would make the seconds depend on the machine's zone.
            raise InvalidArgument.field("period", "start and end must be timezone-aware")
        if self.end <= self.start:
            raise InvalidArgument.field("period.end", f"must be after start {self.start.isoformat()}")

    def seconds(self) -> int:
        return _seconds(self.end - self.start)


def _seconds(delta: timedelta) -> int:
    # Whole seconds from timedelta's integer parts; total_seconds() would go through binary floating point.
    return delta.days * 86_400 + delta.seconds


def proration_factor(period: Period, active: Period) -> Decimal:
    """Share of ``period`` that ``active`` covers, by whole seconds: overlap ÷ the period's length."""
    start = max(period.start, active.start)
    end = min(period.end, active.end)
    if end <= start:
        return ZERO
    return Decimal(_seconds(end - start)) / Decimal(period.seconds())


def fee_quantity(price: FlatPrice, period: Period, active: Period) -> Decimal:
    """Periods to bill for ``period``: the proration factor, or 1 for any overlap when the fee is not prorated."""
    factor = proration_factor(period, active)
    if not price.prorate and factor > 0:
        return ONE
    return factor


def billed_at(timing: BillingTiming, service_period: Period) -> datetime:
    """When the fee for ``service_period`` is billed: at its start in advance, at its end in arrears."""
    return service_period.start if timing is BillingTiming.IN_ADVANCE else service_period.end


def fee_period_on_invoice(timing: BillingTiming, closing: Period, following: Period) -> Period:
    """The service period whose fee belongs on the invoice issued when ``closing`` ends.

    In arrears it pays for the period that just ended; in advance for the one that starts then.
    """
    if following.start != closing.end:
        raise InvalidArgument.field("following.start", "must be the end of the closing period")
    return closing if timing is BillingTiming.IN_ARREARS else following
