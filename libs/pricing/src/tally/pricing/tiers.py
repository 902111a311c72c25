"""Graduated and volume tier tables, compiled once per price so rating a quantity is a bisect and a multiply."""

from __future__ import annotations

from bisect import bisect_left
from decimal import Decimal

from tally.pricing.models import ZERO, BreakdownLine, Tier


def _tier_label(index: int, lower: Decimal | None, upper: Decimal | None, unit: str) -> str:
    # Tiers are (lower, upper]: "over" keeps the label true for fractional quantities.
    if upper is None:
        if lower is None:
            return f"Tier {index}: all {unit}"
        return f"Tier {index}: over {lower} {unit}"
    if lower is None:
        return f"Tier {index}: 0 – {upper} {unit}"
    return f"Tier {index}: over {lower} – {upper} {unit}"


class TierTable:
    """Tier bounds and labels of a validated tier list; shared by graduated, volume and tiered package."""

    __slots__ = ("bounds", "flat_fees", "labels", "lowers", "unit_prices", "uppers")

    def __init__(self, tiers: tuple[Tier, ...], unit: str = "units") -> None:
        # bounds holds every bounded up_to; bisect_left over it finds the tier holding q, because
        # up_to is inclusive: q == up_to[k] stays in tier k, anything above moves on.
        self.bounds: list[Decimal] = [t.up_to for t in tiers if t.up_to is not None]
        self.lowers: list[Decimal | None] = [None, *self.bounds]
        self.uppers: list[Decimal | None] = [t.up_to for t in tiers]
        self.unit_prices: list[Decimal] = [t.unit_price for t in tiers]
        self.flat_fees: list[Decimal] = [t.flat_fee for t in tiers]
        self.labels: list[str] = [
            _tier_label(i + 1, self.lowers[i], t.up_to, unit) for i, t in enumerate(tiers)
        ]

    def index_of(self, quantity: Decimal) -> int:
        """Zero-based tier containing ``quantity`` (≥ 0); 0 is in tier 1."""
        return bisect_left(self.bounds, quantity)


class GraduatedTable:
    """Graduated pricing with the full tiers below each tier precomputed (their lines and running total)."""

    __slots__ = ("full_lines", "table", "totals_before")

    def __init__(self, tiers: tuple[Tier, ...], unit: str = "units") -> None:
        self.table = TierTable(tiers, unit)
        # full_lines[k] are the lines of tiers 1..k when q is past tier k; totals_before[k] is their sum.
        # Both are constants of the price, so rating only builds the line of the tier q ends in.
        self.full_lines: list[tuple[BreakdownLine, ...]] = [()]
        self.totals_before: list[Decimal] = [ZERO]
        lines: list[BreakdownLine] = []
        total = ZERO
        lower = ZERO
        t = self.table
        for k, upper in enumerate(t.bounds):
            units = upper - lower
            subtotal = units * t.unit_prices[k] + t.flat_fees[k]
            lines.append(
                BreakdownLine(
                    t.labels[k], k + 1, units, t.unit_prices[k], t.flat_fees[k], subtotal, t.lowers[k], upper
                )
            )
            total += subtotal
            self.full_lines.append(tuple(lines))
            self.totals_before.append(total)
            lower = upper

    def rate(self, quantity: Decimal) -> tuple[Decimal, tuple[BreakdownLine, ...]]:
        """Amount and lines for ``quantity`` ≥ 0: tier 1's flat fee always, tier k's once q passes up_to[k−1]."""
        t = self.table
        k = t.index_of(quantity)
        lower = t.lowers[k]
        units = quantity if lower is None else quantity - lower
        price = t.unit_prices[k]
        fee = t.flat_fees[k]
        subtotal = units * price + fee
        line = BreakdownLine(t.labels[k], k + 1, units, price, fee, subtotal, lower, t.uppers[k])
        return self.totals_before[k] + subtotal, (*self.full_lines[k], line)

    def amount(self, quantity: Decimal) -> Decimal:
        """Amount only, for callers that do not need the breakdown."""
        t = self.table
        k = t.index_of(quantity)
        lower = t.lowers[k]
        units = quantity if lower is None else quantity - lower
        return self.totals_before[k] + units * t.unit_prices[k] + t.flat_fees[k]


class VolumeTable:
    """Volume pricing: the tier containing q prices every unit and adds only its own flat fee."""

    __slots__ = ("table",)

    def __init__(self, tiers: tuple[Tier, ...], unit: str = "units") -> None:
        self.table = TierTable(tiers, unit)

    def rate(self, quantity: Decimal) -> tuple[Decimal, tuple[BreakdownLine, ...]]:
        t = self.table
        k = t.index_of(quantity)
        price = t.unit_prices[k]
        fee = t.flat_fees[k]
        subtotal = quantity * price + fee
        return subtotal, (
            BreakdownLine(t.labels[k], k + 1, quantity, price, fee, subtotal, t.lowers[k], t.uppers[k]),
        )
