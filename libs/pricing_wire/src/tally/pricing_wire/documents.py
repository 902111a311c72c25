"""Prices and discounts as strict, versioned JSON documents: how services store the pricing engine's terms.

A stored document names its schema (``{"schema": 1, ...}``) and every object in it carries exactly the keys
its schema lists, absent values as ``null``. Reading is strict: another schema, or an object with a key
missing or unknown (a field renamed in code or in the database), raises StoredDocumentError naming the
document, the path and the key, so a stored term is never silently dropped. The format is the services'
own, not the wire contract's JSON: renaming a field of tally.api.catalog.v1 never touches a stored row.
Prices read back are validated again by ``tally.pricing``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from tally.money import Money, is_known
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

T = TypeVar("T")
Raw = Mapping[str, Any]


class StoredDocumentError(Exception):
    """A stored document does not match its schema: a missed migration or a bug, never the caller's input."""


def fields(raw: Any, path: str, keys: Sequence[str]) -> Raw:
    """``raw`` if it is an object with exactly ``keys``; StoredDocumentError naming the missing and unknown ones."""
    if not isinstance(raw, dict):
        raise StoredDocumentError(f"{path}: expected an object, got {type(raw).__name__}")
    missing = [key for key in keys if key not in raw]
    unknown = sorted(key for key in raw if key not in keys)
    if missing or unknown:
        found = [f"missing {', '.join(missing)}"] if missing else []
        found += [f"unknown {', '.join(unknown)}"] if unknown else []
        raise StoredDocumentError(f"{path}: {'; '.join(found)}")
    return raw


def text(raw: Any, path: str) -> str:
    if not isinstance(raw, str):
        raise StoredDocumentError(f"{path}: expected a string, got {raw!r}")
    return raw


def decimal(raw: Any, path: str) -> Decimal:
    try:
        value = Decimal(text(raw, path))
    except InvalidOperation:
        raise StoredDocumentError(f"{path}: {raw!r} is not a decimal") from None
    if not value.is_finite():
        raise StoredDocumentError(f"{path}: {raw!r} is not a finite decimal")
    return value


def whole(raw: Any, path: str) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool):
        raise StoredDocumentError(f"{path}: expected a whole number, got {raw!r}")
    return raw


def flag(raw: Any, path: str) -> bool:
    if not isinstance(raw, bool):
        raise StoredDocumentError(f"{path}: expected true or false, got {raw!r}")
    return raw


def optional_decimal(raw: Any, path: str) -> Decimal | None:
    return None if raw is None else decimal(raw, path)


def optional_text(raw: Any, path: str) -> str | None:
    return None if raw is None else text(raw, path)


def moment(raw: Any, path: str) -> datetime:
    try:
        value = datetime.fromisoformat(text(raw, path))
    except ValueError:
        raise StoredDocumentError(f"{path}: {raw!r} is not an ISO 8601 instant") from None
    if value.tzinfo is None:
        raise StoredDocumentError(f"{path}: {raw!r} has no time zone")
    return value


def optional_moment(raw: Any, path: str) -> datetime | None:
    return None if raw is None else moment(raw, path)


def items(raw: Any, path: str, read: Callable[[Any, str], T]) -> tuple[T, ...]:
    if not isinstance(raw, list):
        raise StoredDocumentError(f"{path}: expected a list, got {type(raw).__name__}")
    return tuple(read(item, f"{path}[{index}]") for index, item in enumerate(raw))


def choice(raw: Any, path: str, choices: Mapping[str, T]) -> T:
    found = choices.get(text(raw, path))
    if found is None:
        raise StoredDocumentError(f"{path}: {raw!r} is not one of {', '.join(choices)}")
    return found


def decimal_text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def instant_text(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def money_doc(money: Money | None) -> dict[str, str] | None:
    return None if money is None else {"amount": str(money.amount), "currency": money.currency}


def read_money(raw: Any, path: str) -> Money | None:
    """The amount of an optional money object (``null`` for none)."""
    if raw is None:
        return None
    doc = fields(raw, path, ("amount", "currency"))
    currency = text(doc["currency"], f"{path}.currency")
    if not is_known(currency):
        raise StoredDocumentError(f"{path}.currency: {currency!r} is not an ISO 4217 currency")
    return Money(decimal(doc["amount"], f"{path}.amount"), currency)


# ---- price models ------------------------------------------------------------------------------------------

_TIER_KEYS = ("up_to", "unit_price", "flat_fee")


def _tier_doc(tier: Tier) -> dict[str, Any]:
    return {
        "up_to": decimal_text(tier.up_to),
        "unit_price": str(tier.unit_price),
        "flat_fee": str(tier.flat_fee),
    }


def _tier(raw: Any, path: str) -> Tier:
    doc = fields(raw, path, _TIER_KEYS)
    return Tier(
        up_to=optional_decimal(doc["up_to"], f"{path}.up_to"),
        unit_price=decimal(doc["unit_price"], f"{path}.unit_price"),
        flat_fee=decimal(doc["flat_fee"], f"{path}.flat_fee"),
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
                min_per_transaction=decimal_text(price.min_per_transaction),
                max_per_transaction=decimal_text(price.max_per_transaction),
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


def strings(raw: Any, path: str) -> tuple[str, ...]:
    return items(raw, path, text)


def _cell(raw: Any, path: str) -> MatrixCell:
    doc = fields(raw, path, ("dimension_values", "unit_price"))
    return MatrixCell(
        strings(doc["dimension_values"], f"{path}.dimension_values"),
        decimal(doc["unit_price"], f"{path}.unit_price"),
    )


def _model(doc: Raw, model: str, currency: str, path: str) -> Price:
    def d(key: str) -> Decimal:
        return decimal(doc[key], f"{path}.{key}")

    def tiers() -> tuple[Tier, ...]:
        return items(doc["tiers"], f"{path}.tiers", _tier)

    match model:
        case "unit":
            return UnitPrice(currency, d("unit_price"))
        case "graduated":
            return GraduatedPrice(currency, tiers())
        case "volume":
            return VolumePrice(currency, tiers())
        case "package":
            rounding = choice(doc["rounding"], f"{path}.rounding", {r.value: r for r in PackageRounding})
            return PackagePrice(currency, d("package_size"), d("package_price"), d("free_units"), rounding)
        case "percentage":
            return PercentagePrice(
                currency,
                rate_percent=d("rate_percent"),
                fixed_fee=d("fixed_fee"),
                min_per_transaction=optional_decimal(
                    doc["min_per_transaction"], f"{path}.min_per_transaction"
                ),
                max_per_transaction=optional_decimal(
                    doc["max_per_transaction"], f"{path}.max_per_transaction"
                ),
                free_events=whole(doc["free_events"], f"{path}.free_events"),
                free_amount=d("free_amount"),
            )
        case "matrix":
            return MatrixPrice(
                currency,
                dimensions=strings(doc["dimensions"], f"{path}.dimensions"),
                cells=items(doc["cells"], f"{path}.cells", _cell),
                default_unit_price=d("default_unit_price"),
            )
        case "tiered_package":
            return TieredPackagePrice(currency, d("package_size"), tiers())
    timing = choice(doc["timing"], f"{path}.timing", {t.value: t for t in BillingTiming})
    return FlatPrice(currency, d("amount"), timing, flag(doc["prorate"], f"{path}.prorate"))


def read_price(raw: Any, path: str) -> Price:
    """The engine price of a schema-1 price object, validated by ``tally.pricing``."""
    if not isinstance(raw, dict):
        raise StoredDocumentError(f"{path}: expected an object, got {type(raw).__name__}")
    model = choice(raw.get("model"), f"{path}.model", {name: name for name in _MODEL_KEYS})
    doc = fields(raw, path, ("model", "currency", *_MODEL_KEYS[model]))
    price = _model(doc, model, text(doc["currency"], f"{path}.currency"), path)
    problems = price_violations(price, path)
    if problems:
        raise StoredDocumentError("; ".join(str(problem) for problem in problems))
    return price


def discount_doc(discount: Discount) -> dict[str, Any]:
    return {
        "id": discount.id,
        "kind": discount.kind.value,
        "value": str(discount.value),
        "charge_id": discount.charge_id,
        "description": discount.description,
    }


def read_discount(raw: Any, path: str) -> Discount:
    doc = fields(raw, path, ("id", "kind", "value", "charge_id", "description"))
    return Discount(
        id=text(doc["id"], f"{path}.id"),
        kind=choice(doc["kind"], f"{path}.kind", {k.value: k for k in DiscountKind}),
        value=decimal(doc["value"], f"{path}.value"),
        charge_id=optional_text(doc["charge_id"], f"{path}.charge_id"),
        description=text(doc["description"], f"{path}.description"),
    )


def dump(schema: int, body: Mapping[str, Any]) -> str:
    """``body`` as a document of ``schema``: compact JSON with sorted keys."""
    return json.dumps({"schema": schema, **body}, sort_keys=True, separators=(",", ":"))


def load(document: str, what: str, schema: int, keys: Sequence[str]) -> Mapping[str, Any]:
    """The document ``what`` (e.g. ``prices[p1].terms``), checked to be ``schema`` with exactly ``keys``."""
    try:
        raw = json.loads(document)
    except ValueError as exc:
        raise StoredDocumentError(f"{what}: not JSON ({exc})") from None
    if isinstance(raw, dict) and raw.get("schema") != schema:
        raise StoredDocumentError(
            f"{what}: schema {raw.get('schema')!r}, this code reads schema {schema}: run the migrations"
        )
    return fields(raw, what, ("schema", *keys))
