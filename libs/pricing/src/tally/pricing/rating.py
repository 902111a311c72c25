"""Rating: a validated price compiled once, then any usage priced to an unrounded amount with its breakdown."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from decimal import Decimal
from functools import lru_cache

from tally.domain.errors import InvalidArgument
from tally.domain.numbers import arithmetic
from tally.pricing.matrix import MatrixRater
from tally.pricing.models import (
    ZERO,
    BreakdownLine,
    EventValues,
    FlatPrice,
    GraduatedPrice,
    MatrixPrice,
    MatrixUsage,
    PackagePrice,
    PercentagePrice,
    Price,
    Rating,
    TieredPackagePrice,
    UnitPrice,
    Usage,
    VolumePrice,
)
from tally.pricing.package import PackageRater, TieredPackageRater
from tally.pricing.percentage import PercentageRater
from tally.pricing.tiers import GraduatedTable, VolumeTable
from tally.pricing.validation import validate_price

QuantityRule = Callable[[Decimal], tuple[Decimal, tuple[BreakdownLine, ...]]]


def _unit(price: UnitPrice) -> QuantityRule:
    def rate(quantity: Decimal) -> tuple[Decimal, tuple[BreakdownLine, ...]]:
        subtotal = quantity * price.unit_price
        return subtotal, (BreakdownLine("Per unit", 0, quantity, price.unit_price, ZERO, subtotal),)

    return rate


def _flat(price: FlatPrice) -> QuantityRule:
    # The quantity of a flat fee is the number of periods billed: 1, or a proration factor.
    def rate(periods: Decimal) -> tuple[Decimal, tuple[BreakdownLine, ...]]:
        subtotal = periods * price.amount
        return subtotal, (BreakdownLine("Flat fee per period", 0, periods, price.amount, ZERO, subtotal),)

    return rate


class Rater:
    """A validated price ready to rate many usages; build it with ``compile_price``."""

    __slots__ = ("_amount", "_events", "_matrix", "_quantity", "currency", "price")

    def __init__(self, price: Price) -> None:
        validate_price(price)
        self.price = price
        self.currency = price.currency
        self._quantity: QuantityRule | None = None
        self._amount: Callable[[Decimal], Decimal] | None = None
        self._events: PercentageRater | None = None
        self._matrix: MatrixRater | None = None
        match price:
            case UnitPrice():
                self._quantity = _unit(price)
            case GraduatedPrice():
                table = GraduatedTable(price.tiers)
                self._quantity = table.rate
                self._amount = table.amount
            case VolumePrice():
                self._quantity = VolumeTable(price.tiers).rate
            case PackagePrice():
                self._quantity = PackageRater(price).rate
            case TieredPackagePrice():
                self._quantity = TieredPackageRater(price).rate
            case FlatPrice():
                self._quantity = _flat(price)
            case PercentagePrice():
                self._events = PercentageRater(price)
            case MatrixPrice():
                self._matrix = MatrixRater(price)

    def rate(self, usage: Usage) -> Rating:
        """The amount for ``usage`` in full precision; a negative quantity is priced as 0."""
        # Prices and quantities are numbers of the one numeric domain, so in its 100-digit context every
        # product and sum here is exact (the default 28 digits would round a 30-digit price times a quantity).
        with arithmetic():
            return self._rate(usage)

    def _rate(self, usage: Usage) -> Rating:
        if self._quantity is not None:
            amount, lines = self._quantity(_quantity(usage, self.price))
        elif self._events is not None:
            if not isinstance(usage, EventValues):
                raise InvalidArgument.field("usage.event_values", "a percentage price rates event values")
            amount, lines = self._events.rate(_finite(v, "usage.event_values.values") for v in usage.values)
        elif self._matrix is not None:
            if not isinstance(usage, MatrixUsage):
                raise InvalidArgument.field("usage.matrix_usage", "a matrix price rates matrix usage")
            for entry in usage.entries:
                _finite(entry.quantity, "usage.matrix_usage.entries.quantity")
            amount, lines = self._matrix.rate(usage)
        else:  # pragma: no cover - every model sets one rule in __init__
            raise AssertionError(self.price)
        return Rating(amount, self.currency, lines)

    def amount(self, quantity: Decimal) -> Decimal:
        """Only the amount for a quantity, skipping the breakdown where the model allows it."""
        if self._amount is not None:
            with arithmetic():
                return self._amount(_quantity(quantity, self.price))
        return self.rate(quantity).amount


def _finite(value: object, field: str) -> Decimal:
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InvalidArgument.field(field, f"must be a finite Decimal, got {value!r}")
    return value


def _quantity(usage: object, price: Price) -> Decimal:
    if isinstance(usage, EventValues | MatrixUsage):
        raise InvalidArgument.field("usage.quantity", f"a {price.model} price rates a quantity")
    quantity = _finite(usage, "usage.quantity")
    return quantity if quantity > 0 else ZERO


@lru_cache(maxsize=4096)
def _compiled(price: Price) -> Rater:
    return Rater(price)


def compile_price(price: Price) -> Rater:
    """Validates ``price`` (InvalidArgument listing every violation) and precomputes what rating needs.

    Compiled prices are cached, so rating the same price again neither re-validates nor re-compiles.
    """
    try:
        return _compiled(price)
    except TypeError:
        # A price built with lists instead of tuples is unhashable: compile it without the cache.
        return Rater(price)


def rate(price: Price, usage: Usage) -> Rating:
    """Prices ``usage`` with ``price``: a quantity, EventValues (percentage) or MatrixUsage (matrix)."""
    return compile_price(price).rate(usage)


def rate_grouped(price: Price, usage_by_group: Mapping[str | None, Usage]) -> Rating:
    """A grouped meter: each group priced on its own, the group amounts summed (None is the null group).

    Groups are rated in a stable order (null group first, then by value) so breakdowns are reproducible.
    """
    rater = compile_price(price)
    total = ZERO
    lines: list[BreakdownLine] = []
    for group in sorted(usage_by_group, key=lambda g: (g is not None, g or "")):
        rating = rater.rate(usage_by_group[group])
        label = "(no group)" if group is None else group
        lines.extend(replace(line, description=f"{label}: {line.description}") for line in rating.breakdown)
        total += rating.amount
    return Rating(total, rater.currency, tuple(lines))
