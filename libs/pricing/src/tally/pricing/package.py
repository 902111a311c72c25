"""Package and tiered-package prices: quantities counted in whole packages, rounded up (or down) exactly."""

from __future__ import annotations

from decimal import Decimal

from tally.pricing.models import ZERO, BreakdownLine, PackagePrice, PackageRounding, TieredPackagePrice
from tally.pricing.tiers import GraduatedTable


def whole_packages(quantity: Decimal, size: Decimal, *, round_up: bool = True) -> Decimal:
    """Number of packages of ``size`` for ``quantity`` ≥ 0, a started package counting when ``round_up``."""
    # divmod gives the exact integer quotient and remainder; dividing and taking the ceiling could be
    # misled by a quotient rounded to the context's 28 digits.
    packages, remainder = divmod(quantity, size)
    if round_up and remainder > 0:
        packages += 1
    return packages


class PackageRater:
    """⌈(q − free_units) / size⌉ × package_price (⌊⌋ when rounding DOWN); 0 if q ≤ free_units."""

    __slots__ = ("label", "price", "round_up")

    def __init__(self, price: PackagePrice) -> None:
        self.price = price
        self.round_up = price.rounding is PackageRounding.UP
        free = f", after {price.free_units} free units" if price.free_units else ""
        self.label = f"Packages of {price.package_size} units{free}"

    def rate(self, quantity: Decimal) -> tuple[Decimal, tuple[BreakdownLine, ...]]:
        p = self.price
        billable = quantity - p.free_units
        packages = whole_packages(billable, p.package_size, round_up=self.round_up) if billable > 0 else ZERO
        subtotal = packages * p.package_price
        return subtotal, (BreakdownLine(self.label, 0, packages, p.package_price, ZERO, subtotal),)


class TieredPackageRater:
    """q rounded up to whole packages, then graduated tiers whose up_to and unit_price count packages."""

    __slots__ = ("graduated", "size")

    def __init__(self, price: TieredPackagePrice) -> None:
        self.size = price.package_size
        self.graduated = GraduatedTable(price.tiers, unit=f"packages of {price.package_size}")

    def rate(self, quantity: Decimal) -> tuple[Decimal, tuple[BreakdownLine, ...]]:
        return self.graduated.rate(whole_packages(quantity, self.size))
