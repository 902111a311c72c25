"""Catalog's stored terms: prices, plan versions and subscription terms as versioned JSON, read strictly.

Each ``terms`` column holds one document that names its schema (``{"schema": 1, ...}``). Every object in it
must carry exactly the keys its schema lists: a key renamed in the code or in the database stops the read
with an error naming the document, the path and the key, instead of silently dropping a term. The schema is
catalog's own (not the wire contract's JSON), so renaming a field of tally.api.catalog.v1 never touches
stored rows; changing a schema means a new number and a migration that rewrites every row in place.
Prices read back are validated again by ``tally.pricing``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from tally.catalog.domain import CatalogPrice, Phase, PlanCharge, PriceOverride
from tally.pricing import (
    BillingTiming,
    Discount,
    DiscountKind,
    FlatPrice,
    GraduatedPrice,
    MatrixCell,
    MatrixPrice,
    PackagePrice,
    PackageRounding,
    PercentagePrice,
    Price,
    Tier,
    TieredPackagePrice,
    UnitPrice,
    VolumePrice,
    price_violations,
)

SCHEMA = 1
"""The one schema this code reads and writes; migration 0003 brought every older row to it."""

T = TypeVar("T")
Raw = Mapping[str, Any]


class StoredTermsError(Exception):
    """A stored document does not match its schema: a missed migration or a bug, never the caller's input."""


def _fields(raw: Any, path: str, keys: Sequence[str]) -> Raw:
    """``raw`` if it is an object with exactly ``keys``; StoredTermsError naming the missing and unknown ones."""
    if not isinstance(raw, dict):
        raise StoredTermsError(f"{path}: expected an object, got {type(raw).__name__}")
    missing = [key for key in keys if key not in raw]
    unknown = sorted(key for key in raw if key not in keys)
    if missing or unknown:
        found = [f"missing {', '.join(missing)}"] if missing else []
        found += [f"unknown {', '.join(unknown)}"] if unknown else []
        raise StoredTermsError(f"{path}: {'; '.join(found)}")
    return raw


def _text(raw: Any, path: str) -> str:
    if not isinstance(raw, str):
        raise StoredTermsError(f"{path}: expected a string, got {raw!r}")
    return raw


def _decimal(raw: Any, path: str) -> Decimal:
    try:
        value = Decimal(_text(raw, path))
    except InvalidOperation:
        raise StoredTermsError(f"{path}: {raw!r} is not a decimal") from None
    if not value.is_finite():
        raise StoredTermsError(f"{path}: {raw!r} is not a finite decimal")
    return value


def _optional_decimal(raw: Any, path: str) -> Decimal | None:
    return None if raw is None else _decimal(raw, path)


def _optional_text(raw: Any, path: str) -> str | None:
    return None if raw is None else _text(raw, path)


def _moment(raw: Any, path: str) -> datetime:
    try:
        value = datetime.fromisoformat(_text(raw, path))
    except ValueError:
        raise StoredTermsError(f"{path}: {raw!r} is not an ISO 8601 instant") from None
    if value.tzinfo is None:
        raise StoredTermsError(f"{path}: {raw!r} has no time zone")
    return value


def _optional_moment(raw: Any, path: str) -> datetime | None:
    return None if raw is None else _moment(raw, path)


def _list(raw: Any, path: str, read: Callable[[Any, str], T]) -> tuple[T, ...]:
    if not isinstance(raw, list):
        raise StoredTermsError(f"{path}: expected a list, got {type(raw).__name__}")
    return tuple(read(item, f"{path}[{index}]") for index, item in enumerate(raw))


def _choice(raw: Any, path: str, choices: Mapping[str, T]) -> T:
    found = choices.get(_text(raw, path))
    if found is None:
        raise StoredTermsError(f"{path}: {raw!r} is not one of {', '.join(choices)}")
    return found


def _opt(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _instant(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


# ---- price models ------------------------------------------------------------------------------------------

_TIER_KEYS = ("up_to", "unit_price", "flat_fee")


def _tier_doc(tier: Tier) -> dict[str, Any]:
    return {"up_to": _opt(tier.up_to), "unit_price": str(tier.unit_price), "flat_fee": str(tier.flat_fee)}


def _tier(raw: Any, path: str) -> Tier:
    doc = _fields(raw, path, _TIER_KEYS)
    return Tier(
        up_to=_optional_decimal(doc["up_to"], f"{path}.up_to"),
        unit_price=_decimal(doc["unit_price"], f"{path}.unit_price"),
        flat_fee=_decimal(doc["flat_fee"], f"{path}.flat_fee"),
    )


_MODEL_KEYS: dict[str, tuple[str, ...]] = {
    "unit": ("unit_price",),
    "graduated": ("tiers",),
    "volume": ("tiers",),
    "package": ("package_size", "package_price", "free_units", "rounding"),
    "percentage": (
        "rate_percent",
        "fixed_fee",
        "min_per_transaction",
        "max_per_transaction",
        "free_events",
        "free_amount",
    ),
    "matrix": ("dimensions", "cells", "default_unit_price"),
    "tiered_package": ("package_size", "tiers"),
    "flat": ("amount", "timing", "prorate"),
}
"""The keys of each price model's document, beside ``model`` and ``currency``."""


def price_doc(price: Price) -> dict[str, Any]:
    """The engine price as its schema-1 object: ``model``, ``currency`` and the model's own keys."""
    doc: dict[str, Any] = {"model": price.model, "currency": price.currency}
    match price:
        case UnitPrice():
            doc["unit_price"] = str(price.unit_price)
        case GraduatedPrice() | VolumePrice():
            doc["tiers"] = [_tier_doc(tier) for tier in price.tiers]
        case PackagePrice():
            doc.update(
                package_size=str(price.package_size),
                package_price=str(price.package_price),
                free_units=str(price.free_units),
                rounding=price.rounding.value,
            )
        case PercentagePrice():
            doc.update(
                rate_percent=str(price.rate_percent),
                fixed_fee=str(price.fixed_fee),
                min_per_transaction=_opt(price.min_per_transaction),
                max_per_transaction=_opt(price.max_per_transaction),
                free_events=price.free_events,
                free_amount=str(price.free_amount),
            )
        case MatrixPrice():
            doc.update(
                dimensions=list(price.dimensions),
                cells=[
                    {"dimension_values": list(cell.dimension_values), "unit_price": str(cell.unit_price)}
                    for cell in price.cells
                ],
                default_unit_price=str(price.default_unit_price),
            )
        case TieredPackagePrice():
            doc.update(package_size=str(price.package_size), tiers=[_tier_doc(tier) for tier in price.tiers])
        case FlatPrice():
            doc.update(amount=str(price.amount), timing=price.timing.value, prorate=price.prorate)
    return doc


def _strings(raw: Any, path: str) -> tuple[str, ...]:
    return _list(raw, path, _text)


def _cell(raw: Any, path: str) -> MatrixCell:
    doc = _fields(raw, path, ("dimension_values", "unit_price"))
    return MatrixCell(
        _strings(doc["dimension_values"], f"{path}.dimension_values"),
        _decimal(doc["unit_price"], f"{path}.unit_price"),
    )


def _model(doc: Raw, model: str, currency: str, path: str) -> Price:
    def d(key: str) -> Decimal:
        return _decimal(doc[key], f"{path}.{key}")

    def tiers() -> tuple[Tier, ...]:
        return _list(doc["tiers"], f"{path}.tiers", _tier)

    match model:
        case "unit":
            return UnitPrice(currency, d("unit_price"))
        case "graduated":
            return GraduatedPrice(currency, tiers())
        case "volume":
            return VolumePrice(currency, tiers())
        case "package":
            rounding = _choice(doc["rounding"], f"{path}.rounding", {r.value: r for r in PackageRounding})
            return PackagePrice(currency, d("package_size"), d("package_price"), d("free_units"), rounding)
        case "percentage":
            free_events = doc["free_events"]
            if not isinstance(free_events, int) or isinstance(free_events, bool):
                raise StoredTermsError(f"{path}.free_events: expected a whole number, got {free_events!r}")
            return PercentagePrice(
                currency,
                rate_percent=d("rate_percent"),
                fixed_fee=d("fixed_fee"),
                min_per_transaction=_optional_decimal(
                    doc["min_per_transaction"], f"{path}.min_per_transaction"
                ),
                max_per_transaction=_optional_decimal(
                    doc["max_per_transaction"], f"{path}.max_per_transaction"
                ),
                free_events=free_events,
                free_amount=d("free_amount"),
            )
        case "matrix":
            return MatrixPrice(
                currency,
                dimensions=_strings(doc["dimensions"], f"{path}.dimensions"),
                cells=_list(doc["cells"], f"{path}.cells", _cell),
                default_unit_price=d("default_unit_price"),
            )
        case "tiered_package":
            return TieredPackagePrice(currency, d("package_size"), tiers())
    timing = _choice(doc["timing"], f"{path}.timing", {t.value: t for t in BillingTiming})
    prorate = doc["prorate"]
    if not isinstance(prorate, bool):
        raise StoredTermsError(f"{path}.prorate: expected true or false, got {prorate!r}")
    return FlatPrice(currency, d("amount"), timing, prorate)


def read_price(raw: Any, path: str) -> Price:
    """The engine price of a schema-1 price object, validated by ``tally.pricing``."""
    if not isinstance(raw, dict):
        raise StoredTermsError(f"{path}: expected an object, got {type(raw).__name__}")
    model = _choice(raw.get("model"), f"{path}.model", {name: name for name in _MODEL_KEYS})
    doc = _fields(raw, path, ("model", "currency", *_MODEL_KEYS[model]))
    price = _model(doc, model, _text(doc["currency"], f"{path}.currency"), path)
    problems = price_violations(price, path)
    if problems:
        raise StoredTermsError("; ".join(str(problem) for problem in problems))
    return price


# ---- catalog prices, charges, discounts, overrides, phases -------------------------------------------------

_CATALOG_PRICE_KEYS = ("id", "product_id", "meter_id", "created_at", "price")


def _catalog_price_doc(price: CatalogPrice) -> dict[str, Any]:
    return {
        "id": price.id,
        "product_id": price.product_id,
        "meter_id": price.meter_id,
        "created_at": _instant(price.created_at),
        "price": price_doc(price.model),
    }


def _catalog_price(raw: Any, path: str) -> CatalogPrice:
    doc = _fields(raw, path, _CATALOG_PRICE_KEYS)
    return CatalogPrice(
        model=read_price(doc["price"], f"{path}.price"),
        id=_text(doc["id"], f"{path}.id"),
        product_id=_text(doc["product_id"], f"{path}.product_id"),
        meter_id=_text(doc["meter_id"], f"{path}.meter_id"),
        created_at=_optional_moment(doc["created_at"], f"{path}.created_at"),
    )


def _charge_doc(charge: PlanCharge) -> dict[str, Any]:
    return {
        "id": charge.id,
        "name": charge.name,
        "price": _catalog_price_doc(charge.price),
        "included_quantity": str(charge.included_quantity),
    }


def _charge(raw: Any, path: str) -> PlanCharge:
    doc = _fields(raw, path, ("id", "name", "price", "included_quantity"))
    return PlanCharge(
        id=_text(doc["id"], f"{path}.id"),
        name=_text(doc["name"], f"{path}.name"),
        price=_catalog_price(doc["price"], f"{path}.price"),
        included_quantity=_decimal(doc["included_quantity"], f"{path}.included_quantity"),
    )


def discount_doc(discount: Discount) -> dict[str, Any]:
    return {
        "id": discount.id,
        "kind": discount.kind.value,
        "value": str(discount.value),
        "charge_id": discount.charge_id,
        "description": discount.description,
    }


def read_discount(raw: Any, path: str) -> Discount:
    doc = _fields(raw, path, ("id", "kind", "value", "charge_id", "description"))
    return Discount(
        id=_text(doc["id"], f"{path}.id"),
        kind=_choice(doc["kind"], f"{path}.kind", {k.value: k for k in DiscountKind}),
        value=_decimal(doc["value"], f"{path}.value"),
        charge_id=_optional_text(doc["charge_id"], f"{path}.charge_id"),
        description=_text(doc["description"], f"{path}.description"),
    )


def _override_doc(override: PriceOverride) -> dict[str, Any]:
    return {
        "charge_id": override.charge_id,
        "price": None if override.price is None else _catalog_price_doc(override.price),
        "included_quantity": _opt(override.included_quantity),
    }


def _override(raw: Any, path: str) -> PriceOverride:
    doc = _fields(raw, path, ("charge_id", "price", "included_quantity"))
    return PriceOverride(
        charge_id=_text(doc["charge_id"], f"{path}.charge_id"),
        price=None if doc["price"] is None else _catalog_price(doc["price"], f"{path}.price"),
        included_quantity=_optional_decimal(doc["included_quantity"], f"{path}.included_quantity"),
    )


def _phase_doc(phase: Phase) -> dict[str, Any]:
    return {
        "plan_version_id": phase.plan_version_id,
        "start_at": _instant(phase.start_at),
        "end_at": _instant(phase.end_at),
        "overrides": [_override_doc(o) for o in phase.overrides],
    }


def _phase(raw: Any, path: str) -> Phase:
    doc = _fields(raw, path, ("plan_version_id", "start_at", "end_at", "overrides"))
    return Phase(
        plan_version_id=_text(doc["plan_version_id"], f"{path}.plan_version_id"),
        start_at=_moment(doc["start_at"], f"{path}.start_at"),
        end_at=_optional_moment(doc["end_at"], f"{path}.end_at"),
        overrides=_list(doc["overrides"], f"{path}.overrides", _override),
    )


# ---- documents -------------------------------------------------------------------------------------------


def _dump(body: dict[str, Any]) -> str:
    return json.dumps({"schema": SCHEMA, **body}, sort_keys=True, separators=(",", ":"))


def _load(text: str, what: str, keys: Sequence[str]) -> Raw:
    """The document's body keys, after checking it is JSON of this schema with exactly ``keys``."""
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise StoredTermsError(f"{what}: not JSON ({exc})") from None
    if isinstance(raw, dict) and raw.get("schema") != SCHEMA:
        raise StoredTermsError(
            f"{what}: schema {raw.get('schema')!r}, this code reads schema {SCHEMA}: run the migrations"
        )
    return _fields(raw, what, ("schema", *keys))


def dump_price(price: Price) -> str:
    """A stored price's terms: its model (id, product, meter and currency have columns of their own)."""
    return _dump({"price": price_doc(price)})


def load_price(text: str, what: str) -> Price:
    return read_price(_load(text, what, ("price",))["price"], f"{what}.price")


_VERSION_KEYS = ("charges", "minimum_commitment", "maximum", "discounts")


def dump_plan_version(
    charges: Sequence[PlanCharge],
    minimum_commitment: Decimal | None,
    maximum: Decimal | None,
    discounts: Sequence[Discount],
) -> str:
    """A plan version's terms (id, plan, number, currency and publication time have columns)."""
    return _dump(
        {
            "charges": [_charge_doc(charge) for charge in charges],
            "minimum_commitment": _opt(minimum_commitment),
            "maximum": _opt(maximum),
            "discounts": [discount_doc(discount) for discount in discounts],
        }
    )


def load_plan_version(
    text: str, what: str
) -> tuple[tuple[PlanCharge, ...], Decimal | None, Decimal | None, tuple[Discount, ...]]:
    """(charges, minimum commitment, maximum, discounts) of a stored plan version."""
    doc = _load(text, what, _VERSION_KEYS)
    return (
        _list(doc["charges"], f"{what}.charges", _charge),
        _optional_decimal(doc["minimum_commitment"], f"{what}.minimum_commitment"),
        _optional_decimal(doc["maximum"], f"{what}.maximum"),
        _list(doc["discounts"], f"{what}.discounts", read_discount),
    )


def dump_subscription_terms(overrides: Sequence[PriceOverride], phases: Sequence[Phase]) -> str:
    """A subscription's negotiated terms; its dates, cycle, anchor and quote have columns."""
    return _dump(
        {"overrides": [_override_doc(o) for o in overrides], "phases": [_phase_doc(p) for p in phases]}
    )


def load_subscription_terms(text: str, what: str) -> tuple[tuple[PriceOverride, ...], tuple[Phase, ...]]:
    doc = _load(text, what, ("overrides", "phases"))
    return (
        _list(doc["overrides"], f"{what}.overrides", _override),
        _list(doc["phases"], f"{what}.phases", _phase),
    )
