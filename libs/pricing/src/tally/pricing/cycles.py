"""Billing cycles: month arithmetic and the billing period containing an instant, for every service that bills.

Catalog resolves a subscription's periods with these, and quoting estimates a quote's periods with the same
ones, so a quote and the invoices of the subscription it becomes agree on where each period starts and ends.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime

from tally.pricing.recurring import Period


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` shifted by whole months, the day clamped to the target month (31 Jan + 1 month = 28/29 Feb)."""
    years, month_index = divmod(moment.month - 1 + months, 12)
    year, month = moment.year + years, month_index + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def cycle_period(start_at: datetime, months: int, *, anniversary: bool, at: datetime) -> Period:
    """The billing cycle of ``months`` months containing ``at`` (the first one if ``at`` is before the start).

    Calendar periods start on the 1st of the month, of the quarter (Jan, Apr, Jul, Oct) or of the year, UTC;
    anniversary periods start on the subscription's start date every cycle, counted from the start so that
    a start on the 31st comes back to the 31st wherever the month has one.
    """
    at = max(at, start_at).astimezone(UTC)
    if not anniversary:
        index = at.year * 12 + at.month - 1
        index -= index % months
        start = datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)
        return Period(start, add_months(start, months))
    origin = start_at.astimezone(UTC)
    cycles = ((at.year - origin.year) * 12 + at.month - origin.month) // months
    while add_months(origin, cycles * months) > at:
        cycles -= 1
    while add_months(origin, (cycles + 1) * months) <= at:
        cycles += 1
    return Period(add_months(origin, cycles * months), add_months(origin, (cycles + 1) * months))
