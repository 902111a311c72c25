"""Validation of prices: every violation of docs/pricing.md's rules, each named by its field path, in one error."""

from __future__ import annotations

from decimal import Decimal

from tally.domain.errors import FieldViolation, InvalidArgument
from tally.money import is_known
from tally.pricing.models import (
    FlatPrice,
    GraduatedPrice,
    MatrixPrice,
    PackagePrice,
    PercentagePrice,
    Price,
    Tier,
    TieredPackagePrice,
    UnitPrice,
    VolumePrice,
)


class Violations:
    """Collects field violations so one InvalidArgument can report all of them together."""

    def __init__(self) -> None:
        self.items: list[FieldViolation] = []

    def add(self, field: str, reason: str) -> None:
        self.items.append(FieldViolation(field, reason))

    def decimal(self, field: str, value: object, *, positive: bool = False) -> bool:
        """Checks a finite, non-negative (or positive) Decimal; True if it passed."""
        if not isinstance(value, Decimal) or not value.is_finite():
            # floats would silently carry binary rounding errors into money, so they are refused too
            self.add(field, f"must be a finite Decimal, got {value!r}")
            return False
        if positive and value <= 0:
            self.add(field, f"must be greater than 0, got {value}")
            return False
        if value < 0:
            self.add(field, f"must not be negative, got {value}")
            return False
        return True

    def currency(self, field: str, code: str) -> None:
        if not is_known(code):
            self.add(field, f"unknown currency {code!r}: expected an ISO 4217 code such as USD, EUR or JPY")

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidArgument(self.items)


def _check_tiers(v: Violations, field: str, tiers: tuple[Tier, ...]) -> None:
    if not tiers:
        v.add(field, "must have at least one tier")
        return
    previous: Decimal | None = None
    last = len(tiers) - 1
    for index, tier in enumerate(tiers):
        at = f"{field}[{index}]"
        if tier.up_to is None:
            if index != last:
                v.add(f"{at}.up_to", "only the last tier may be unbounded")
        elif index == last:
            v.add(f"{at}.up_to", "the last tier must be unbounded (no up_to)")
        elif v.decimal(f"{at}.up_to", tier.up_to, positive=True):
            if previous is not None and tier.up_to <= previous:
                v.add(
                    f"{at}.up_to",
                    f"must be greater than the previous tier's up_to {previous}, got {tier.up_to}",
                )
            previous = tier.up_to
        v.decimal(f"{at}.unit_price", tier.unit_price)
        v.decimal(f"{at}.flat_fee", tier.flat_fee)


def price_violations(price: Price, field_prefix: str = "price") -> list[FieldViolation]:
    """Every rule ``price`` breaks, each naming its field path under ``field_prefix``."""
    v = Violations()
    v.currency(f"{field_prefix}.currency", price.currency)
    at = f"{field_prefix}.{price.model}"
    match price:
        case UnitPrice():
            v.decimal(f"{at}.unit_price", price.unit_price)
        case GraduatedPrice() | VolumePrice():
            _check_tiers(v, f"{at}.tiers", price.tiers)
        case PackagePrice():
            v.decimal(f"{at}.package_size", price.package_size, positive=True)
            v.decimal(f"{at}.package_price", price.package_price)
            v.decimal(f"{at}.free_units", price.free_units)
        case TieredPackagePrice():
            v.decimal(f"{at}.package_size", price.package_size, positive=True)
            _check_tiers(v, f"{at}.tiers", price.tiers)
        case PercentagePrice():
            _check_percentage(v, at, price)
        case MatrixPrice():
            _check_matrix(v, at, price)
        case FlatPrice():
            v.decimal(f"{at}.amount", price.amount)
    return v.items


def validate_price(price: Price, field_prefix: str = "price") -> None:
    """Raises one InvalidArgument listing every violation of ``price``; returns None if it is valid."""
    violations = price_violations(price, field_prefix)
    if violations:
        raise InvalidArgument(violations)


def _check_percentage(v: Violations, at: str, price: PercentagePrice) -> None:
    v.decimal(f"{at}.rate_percent", price.rate_percent)
    v.decimal(f"{at}.fixed_fee", price.fixed_fee)
    v.decimal(f"{at}.free_amount", price.free_amount)
    if not isinstance(price.free_events, int) or price.free_events < 0:
        v.add(f"{at}.free_events", f"must be a whole number ≥ 0, got {price.free_events!r}")
    low, high = price.min_per_transaction, price.max_per_transaction
    low_ok = low is not None and v.decimal(f"{at}.min_per_transaction", low)
    high_ok = high is not None and v.decimal(f"{at}.max_per_transaction", high)
    if low_ok and high_ok and low is not None and high is not None and low > high:
        v.add(f"{at}.min_per_transaction", f"must not exceed max_per_transaction {high}, got {low}")


def _check_matrix(v: Violations, at: str, price: MatrixPrice) -> None:
    count = len(price.dimensions)
    if count not in (1, 2):
        v.add(f"{at}.dimensions", f"must name one or two dimensions, got {count}")
    for index, name in enumerate(price.dimensions):
        if not name:
            v.add(f"{at}.dimensions[{index}]", "must not be empty")
    if len(set(price.dimensions)) != count:
        v.add(f"{at}.dimensions", "must not repeat a dimension")
    seen: dict[tuple[str, ...], int] = {}
    for index, cell in enumerate(price.cells):
        cell_at = f"{at}.cells[{index}]"
        values = tuple(cell.dimension_values)
        if len(values) != count:
            v.add(
                f"{cell_at}.dimension_values",
                f"must have exactly one value per dimension ({count}), got {len(values)}",
            )
        elif values in seen:
            v.add(f"{cell_at}.dimension_values", f"duplicates cells[{seen[values]}] {list(values)}")
        else:
            seen[values] = index
        v.decimal(f"{cell_at}.unit_price", cell.unit_price)
    v.decimal(f"{at}.default_unit_price", price.default_unit_price)
