"""Price models, usage shapes and rating results: frozen values mirroring tally.api.catalog.v1 one to one."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import ClassVar

ZERO = Decimal(0)


class PackageRounding(Enum):
    """How a package price rounds a partial package (PackageRounding on the wire)."""

    UP = "UP"
    DOWN = "DOWN"


class BillingTiming(Enum):
    """When a flat recurring fee is billed relative to the period it pays for (BillingTiming)."""

    IN_ADVANCE = "IN_ADVANCE"
    IN_ARREARS = "IN_ARREARS"


@dataclass(frozen=True, slots=True)
class Tier:
    """One tier of a graduated, volume or tiered-package price."""

    up_to: Decimal | None
    """Inclusive upper bound; None only on the last tier, which is unbounded."""
    unit_price: Decimal
    """Price per unit (per package for tiered package) inside the tier."""
    flat_fee: Decimal = ZERO
    """Charged when the tier is reached (graduated) or contains the quantity (volume)."""


@dataclass(frozen=True, slots=True)
class UnitPrice:
    """Pay-as-you-go: quantity × unit_price."""

    model: ClassVar[str] = "unit"
    currency: str
    unit_price: Decimal


@dataclass(frozen=True, slots=True)
class GraduatedPrice:
    """Each tier prices the units inside it, plus each reached tier's flat fee."""

    model: ClassVar[str] = "graduated"
    currency: str
    tiers: tuple[Tier, ...]


@dataclass(frozen=True, slots=True)
class VolumePrice:
    """The one tier containing the quantity prices all units, plus that tier's flat fee."""

    model: ClassVar[str] = "volume"
    currency: str
    tiers: tuple[Tier, ...]


@dataclass(frozen=True, slots=True)
class PackagePrice:
    """⌈(quantity − free_units) / package_size⌉ × package_price; 0 if quantity ≤ free_units."""

    model: ClassVar[str] = "package"
    currency: str
    package_size: Decimal
    package_price: Decimal
    free_units: Decimal = ZERO
    rounding: PackageRounding = PackageRounding.UP


@dataclass(frozen=True, slots=True)
class PercentagePrice:
    """Per event: rate % of its paying value plus a fixed fee, clamped per transaction, after a free allowance."""

    model: ClassVar[str] = "percentage"
    currency: str
    rate_percent: Decimal
    fixed_fee: Decimal = ZERO
    min_per_transaction: Decimal | None = None
    """None for no minimum."""
    max_per_transaction: Decimal | None = None
    """None for no maximum."""
    free_events: int = 0
    """The first N events of the period are free; 0 for no count allowance."""
    free_amount: Decimal = ZERO
    """The first X of value of the period is free; 0 for no value allowance."""


@dataclass(frozen=True, slots=True)
class MatrixCell:
    """A unit price for usage with these dimension values (in the order of MatrixPrice.dimensions)."""

    dimension_values: tuple[str, ...]
    unit_price: Decimal


@dataclass(frozen=True, slots=True)
class MatrixPrice:
    """The unit price is chosen by the usage's values of one or two dimensions."""

    model: ClassVar[str] = "matrix"
    currency: str
    dimensions: tuple[str, ...]
    cells: tuple[MatrixCell, ...]
    default_unit_price: Decimal
    """Price per unit for usage matching no cell."""


@dataclass(frozen=True, slots=True)
class TieredPackagePrice:
    """Quantity rounded up to whole packages, then graduated tiers (counted in packages) price the packages."""

    model: ClassVar[str] = "tiered_package"
    currency: str
    package_size: Decimal
    tiers: tuple[Tier, ...]


@dataclass(frozen=True, slots=True)
class FlatPrice:
    """A fixed amount per billing period; the quantity rated is the (prorated) number of periods."""

    model: ClassVar[str] = "flat"
    currency: str
    amount: Decimal
    timing: BillingTiming = BillingTiming.IN_ADVANCE
    prorate: bool = True
    """True to prorate by seconds for partial periods; False bills a partial period in full."""


Price = (
    UnitPrice
    | GraduatedPrice
    | VolumePrice
    | PackagePrice
    | PercentagePrice
    | MatrixPrice
    | TieredPackagePrice
    | FlatPrice
)


@dataclass(frozen=True, slots=True)
class EventValues:
    """Values of the period's events in event order (timestamp, then event_id), for percentage prices."""

    values: tuple[Decimal, ...]


@dataclass(frozen=True, slots=True)
class MatrixUsageEntry:
    """The quantity used with one combination of matrix dimension values."""

    dimension_values: tuple[str, ...]
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class MatrixUsage:
    """Usage for matrix prices, one entry per combination of dimension values."""

    entries: tuple[MatrixUsageEntry, ...]


Usage = Decimal | EventValues | MatrixUsage
"""What a price rates: a quantity, event values (percentage) or matrix usage (matrix), as RateRequest.usage."""


@dataclass(frozen=True, slots=True)
class BreakdownLine:
    """One step of a price calculation: units × unit_price + flat_fee = subtotal, in full precision."""

    description: str
    tier_index: int
    """One-based tier the step belongs to; 0 when the model has no tiers."""
    units: Decimal
    unit_price: Decimal
    flat_fee: Decimal
    subtotal: Decimal
    lower: Decimal | None = None
    """A tier's lower bound (exclusive; None from 0), so a document can print its range in its own number format."""
    upper: Decimal | None = None
    """A tier's upper bound (inclusive; None for the last, unbounded tier)."""


@dataclass(frozen=True, slots=True)
class Rating:
    """A priced amount in full precision (R1 rounding happens at the invoice line) and how it was reached."""

    amount: Decimal
    currency: str
    breakdown: tuple[BreakdownLine, ...]
    """Subtotals sum exactly to amount."""
