"""Billing-period arithmetic for charts and revenue: the period before a period, and monthly recurring revenue."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

CYCLE_MONTHS = {"MONTHLY": 1, "QUARTERLY": 3, "ANNUAL": 12}


def _month_start(moment: datetime) -> bool:
    return moment.day == 1 and moment.hour == moment.minute == moment.second == moment.microsecond == 0


def _shift_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    return moment.replace(year=index // 12, month=index % 12 + 1)


def previous_period(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The period just before [start, end): the same number of calendar months when the period is whole
    months (so March's predecessor is all of February), else the same duration."""
    if _month_start(start) and _month_start(end):
        months = (end.year - start.year) * 12 + end.month - start.month
        return _shift_months(start, -months), start
    return start - (end - start), start


def monthly_recurring(fees: Iterable[tuple[Decimal, str]]) -> Decimal:
    """Monthly recurring revenue of flat fees given as (amount per billing cycle, cycle name)."""
    total = Decimal(0)
    for amount, cycle in fees:
        total += amount / CYCLE_MONTHS.get(cycle, 1)
    return total
