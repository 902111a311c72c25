"""Products, prices as the catalog keeps them, plans and their immutable published versions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tally.domain.errors import FieldViolation, InvalidArgument
from tally.pricing import Charge, Discount, PlanVersion, Price, plan_violations, price_violations
from tally.pricing.models import ZERO

MAX_NAME_LENGTH = 500


@dataclass(frozen=True)
class Product:
    """Something sold, which prices are attached to."""

    id: str
    name: str
    description: str
    created_at: datetime


@dataclass(frozen=True)
class CatalogPrice:
    """A price as the catalog holds it: the engine's model plus what it is for."""

    model: Price
    """The engine price (currency included); what ``tally.pricing.rate`` applies."""
    id: str = ""
    """Empty for an ad hoc price (an override or a charge's inline price)."""
    product_id: str = ""
    meter_id: str = ""
    """The meter whose quantity is priced; empty for flat recurring fees."""
    created_at: datetime | None = None


@dataclass(frozen=True)
class Plan:
    """A named group of terms whose published versions subscriptions bind to."""

    id: str
    name: str
    description: str
    latest_version: int
    """0 until a version is published."""
    created_at: datetime


@dataclass(frozen=True)
class PlanCharge:
    """A plan version's charge: a recurring fee (flat price) or a usage charge (metered price)."""

    id: str
    name: str
    price: CatalogPrice
    included_quantity: Decimal = ZERO

    def to_engine(self) -> Charge:
        return Charge(self.id, self.name, self.price.model, self.included_quantity)


@dataclass(frozen=True)
class PlanVersionTerms:
    """One published version of a plan: never changed once stored."""

    id: str
    plan_id: str
    version: int
    currency: str
    charges: tuple[PlanCharge, ...]
    minimum_commitment: Decimal | None = None
    maximum: Decimal | None = None
    discounts: tuple[Discount, ...] = ()
    published_at: datetime | None = None

    def to_engine(self) -> PlanVersion:
        return PlanVersion(
            currency=self.currency,
            charges=tuple(charge.to_engine() for charge in self.charges),
            minimum_commitment=self.minimum_commitment,
            maximum=self.maximum,
            discounts=self.discounts,
        )

    def charge(self, charge_id: str) -> PlanCharge | None:
        return next((charge for charge in self.charges if charge.id == charge_id), None)


def _named(name: str, path: str, problems: list[FieldViolation]) -> str:
    name = name.strip()
    if not name:
        problems.append(FieldViolation(f"{path}.name", "is required"))
    elif len(name) > MAX_NAME_LENGTH:
        problems.append(FieldViolation(f"{path}.name", f"must be at most {MAX_NAME_LENGTH} characters"))
    return name


def validate_name(name: str, path: str) -> str:
    """A product's or plan's name, stripped; InvalidArgument on ``<path>.name`` if empty or too long."""
    problems: list[FieldViolation] = []
    name = _named(name, path, problems)
    if problems:
        raise InvalidArgument(problems)
    return name


def validate_catalog_price(price: CatalogPrice, path: str = "price") -> None:
    """Every rule of docs/pricing.md the price breaks, each named under ``path``, in one InvalidArgument."""
    problems = price_violations(price.model, path)
    if problems:
        raise InvalidArgument(problems)


def validate_plan_version(terms: PlanVersionTerms, path: str = "plan_version") -> None:
    """The engine's plan rules (prices, charge ids, discounts, minimum ≤ maximum) plus charge names."""
    problems = plan_violations(terms.to_engine(), path)
    for index, charge in enumerate(terms.charges):
        if not charge.name.strip():
            problems.append(FieldViolation(f"{path}.charges[{index}].name", "is required"))
    if not terms.charges:
        problems.append(FieldViolation(f"{path}.charges", "must have at least one charge"))
    if problems:
        raise InvalidArgument(problems)
