"""Percentage prices: per event, rate % of its paying value plus a fixed fee, clamped, after the free allowance."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from tally.pricing.models import ZERO, BreakdownLine, PercentagePrice

HUNDRED = Decimal(100)


class PercentageRater:
    """Walks the period's events in order; the breakdown groups events by how each was charged."""

    __slots__ = ("fraction", "price")

    def __init__(self, price: PercentagePrice) -> None:
        self.price = price
        self.fraction = price.rate_percent / HUNDRED

    def rate(self, values: Iterable[Decimal]) -> tuple[Decimal, tuple[BreakdownLine, ...]]:
        p = self.price
        fee = p.fixed_fee
        low, high = p.min_per_transaction, p.max_per_transaction
        # The allowance is open while neither of its limits is reached; 0 means no limit of that kind.
        count_left = p.free_events if p.free_events > 0 else None
        value_left = p.free_amount if p.free_amount > 0 else None
        allowance = count_left is not None or value_left is not None

        free_events = 0
        rated_events = 0
        rated_value = ZERO
        at_min = 0
        at_max = 0
        for raw in values:
            # A negative event value is priced as 0, like a negative quantity.
            paying = raw if raw > 0 else ZERO
            if allowance:
                if value_left is None:
                    paying = ZERO
                else:
                    # The event during which X is reached is only partly free, even among the first N.
                    used = paying if paying < value_left else value_left
                    value_left -= used
                    paying -= used
                    if value_left == 0:
                        allowance = False
                if count_left is not None:
                    count_left -= 1
                    if count_left == 0:
                        allowance = False
                if paying == 0:
                    free_events += 1
                    continue
            charge = paying * self.fraction + fee
            if low is not None and charge < low:
                at_min += 1
            elif high is not None and charge > high:
                at_max += 1
            else:
                rated_events += 1
                rated_value += paying

        lines: list[BreakdownLine] = []
        if free_events:
            lines.append(BreakdownLine("Free events", 0, Decimal(free_events), ZERO, ZERO, ZERO))
        if rated_events:
            fees = rated_events * fee
            lines.append(
                BreakdownLine(
                    f"{rated_events} events at {p.rate_percent} %" + (f" + {fee} each" if fee else ""),
                    0,
                    rated_value,
                    self.fraction,
                    fees,
                    rated_value * self.fraction + fees,
                )
            )
        if at_min and low is not None:
            lines.append(
                BreakdownLine(f"{at_min} events at the minimum", 0, Decimal(at_min), low, ZERO, at_min * low)
            )
        if at_max and high is not None:
            lines.append(
                BreakdownLine(
                    f"{at_max} events at the maximum", 0, Decimal(at_max), high, ZERO, at_max * high
                )
            )
        return sum((line.subtotal for line in lines), ZERO), tuple(lines)
