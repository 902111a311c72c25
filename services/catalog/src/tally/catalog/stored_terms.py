"""Catalog's stored terms: prices, plan versions and subscription terms as schema-1 documents, read strictly.

Each ``terms`` column holds one document of ``tally.pricing_wire.documents``: it names its schema and every
object in it carries exactly the keys listed here, so a key renamed in the code or in the database stops the
read with an error naming the row, the path and the key instead of silently dropping a term. Changing this
schema means a new number and a migration that rewrites every row in place (as 0003 did for the protobuf
JSON stored before).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tally.catalog.domain import CatalogPrice, Phase, PlanCharge, PriceOverride, Subscription
from tally.money import Money
from tally.pricing import Discount, Price
from tally.pricing_wire.documents import (
    decimal,
    decimal_text,
    discount_doc,
    dump,
    fields,
    instant_text,
    items,
    load,
    moment,
    money_doc,
    optional_decimal,
    optional_moment,
    price_doc,
    read_discount,
    read_money,
    read_price,
    text,
)

SCHEMA = 1
"""The one schema this code reads and writes; migration 0003 brought every older row to it."""


def _catalog_price_doc(price: CatalogPrice) -> dict[str, Any]:
    return {
        "id": price.id,
        "product_id": price.product_id,
        "meter_id": price.meter_id,
        "created_at": instant_text(price.created_at),
        "price": price_doc(price.model),
    }


def _catalog_price(raw: Any, path: str) -> CatalogPrice:
    doc = fields(raw, path, ("id", "product_id", "meter_id", "created_at", "price"))
    return CatalogPrice(
        model=read_price(doc["price"], f"{path}.price"),
        id=text(doc["id"], f"{path}.id"),
        product_id=text(doc["product_id"], f"{path}.product_id"),
        meter_id=text(doc["meter_id"], f"{path}.meter_id"),
        created_at=optional_moment(doc["created_at"], f"{path}.created_at"),
    )


def _charge_doc(charge: PlanCharge) -> dict[str, Any]:
    return {
        "id": charge.id,
        "name": charge.name,
        "price": _catalog_price_doc(charge.price),
        "included_quantity": str(charge.included_quantity),
    }


def _charge(raw: Any, path: str) -> PlanCharge:
    doc = fields(raw, path, ("id", "name", "price", "included_quantity"))
    return PlanCharge(
        id=text(doc["id"], f"{path}.id"),
        name=text(doc["name"], f"{path}.name"),
        price=_catalog_price(doc["price"], f"{path}.price"),
        included_quantity=decimal(doc["included_quantity"], f"{path}.included_quantity"),
    )


def _override_doc(override: PriceOverride) -> dict[str, Any]:
    return {
        "charge_id": override.charge_id,
        "price": None if override.price is None else _catalog_price_doc(override.price),
        "included_quantity": decimal_text(override.included_quantity),
    }


def _override(raw: Any, path: str) -> PriceOverride:
    doc = fields(raw, path, ("charge_id", "price", "included_quantity"))
    return PriceOverride(
        charge_id=text(doc["charge_id"], f"{path}.charge_id"),
        price=None if doc["price"] is None else _catalog_price(doc["price"], f"{path}.price"),
        included_quantity=optional_decimal(doc["included_quantity"], f"{path}.included_quantity"),
    )


_NEGOTIATED_KEYS = ("overrides", "discounts", "minimum_commitment")
"""What a subscription, and each of its phases, negotiates on top of its plan version."""


def _phase_doc(phase: Phase) -> dict[str, Any]:
    return {
        "plan_version_id": phase.plan_version_id,
        "start_at": instant_text(phase.start_at),
        "end_at": instant_text(phase.end_at),
        "overrides": [_override_doc(o) for o in phase.overrides],
        "discounts": [discount_doc(d) for d in phase.discounts],
        "minimum_commitment": money_doc(phase.minimum_commitment),
    }


def _phase(raw: Any, path: str) -> Phase:
    doc = fields(raw, path, (*_NEGOTIATED_KEYS, "plan_version_id", "start_at", "end_at"))
    return Phase(
        plan_version_id=text(doc["plan_version_id"], f"{path}.plan_version_id"),
        start_at=moment(doc["start_at"], f"{path}.start_at"),
        end_at=optional_moment(doc["end_at"], f"{path}.end_at"),
        overrides=items(doc["overrides"], f"{path}.overrides", _override),
        discounts=items(doc["discounts"], f"{path}.discounts", read_discount),
        minimum_commitment=read_money(doc["minimum_commitment"], f"{path}.minimum_commitment"),
    )


def dump_price(price: Price) -> str:
    """A stored price's terms: its model (id, product, meter and currency have columns of their own)."""
    return dump(SCHEMA, {"price": price_doc(price)})


def load_price(document: str, what: str) -> Price:
    return read_price(load(document, what, SCHEMA, ("price",))["price"], f"{what}.price")


@dataclass(frozen=True)
class VersionTerms:
    """What a plan version stores as terms; its id, plan, number, currency and publication have columns."""

    charges: tuple[PlanCharge, ...]
    minimum_commitment: Decimal | None
    maximum: Decimal | None
    discounts: tuple[Discount, ...]


def dump_plan_version(terms: VersionTerms) -> str:
    return dump(
        SCHEMA,
        {
            "charges": [_charge_doc(charge) for charge in terms.charges],
            "minimum_commitment": decimal_text(terms.minimum_commitment),
            "maximum": decimal_text(terms.maximum),
            "discounts": [discount_doc(discount) for discount in terms.discounts],
        },
    )


def load_plan_version(document: str, what: str) -> VersionTerms:
    doc = load(document, what, SCHEMA, ("charges", "minimum_commitment", "maximum", "discounts"))
    return VersionTerms(
        charges=items(doc["charges"], f"{what}.charges", _charge),
        minimum_commitment=optional_decimal(doc["minimum_commitment"], f"{what}.minimum_commitment"),
        maximum=optional_decimal(doc["maximum"], f"{what}.maximum"),
        discounts=items(doc["discounts"], f"{what}.discounts", read_discount),
    )


@dataclass(frozen=True)
class SubscriptionTerms:
    """What a subscription stores as terms; its dates, cycle, anchor and quote have columns."""

    overrides: tuple[PriceOverride, ...]
    phases: tuple[Phase, ...]
    discounts: tuple[Discount, ...]
    minimum_commitment: Money | None


def dump_subscription_terms(subscription: Subscription) -> str:
    return dump(
        SCHEMA,
        {
            "overrides": [_override_doc(o) for o in subscription.overrides],
            "phases": [_phase_doc(p) for p in subscription.phases],
            "discounts": [discount_doc(d) for d in subscription.discounts],
            "minimum_commitment": money_doc(subscription.minimum_commitment),
        },
    )


def load_subscription_terms(document: str, what: str) -> SubscriptionTerms:
    doc = load(document, what, SCHEMA, (*_NEGOTIATED_KEYS, "phases"))
    return SubscriptionTerms(
        overrides=items(doc["overrides"], f"{what}.overrides", _override),
        phases=items(doc["phases"], f"{what}.phases", _phase),
        discounts=items(doc["discounts"], f"{what}.discounts", read_discount),
        minimum_commitment=read_money(doc["minimum_commitment"], f"{what}.minimum_commitment"),
    )
