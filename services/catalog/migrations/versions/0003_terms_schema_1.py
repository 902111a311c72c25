"""Stored terms move from the wire contract's protobuf JSON to catalog's own schema 1, rewritten in place.

Until now prices, plan versions and subscription terms were the proto3 JSON of tally.api.catalog.v1 messages,
read back ignoring unknown fields: a renamed field would have dropped stored terms without a word. Schema 1
(``tally.catalog.stored_terms``) names every key, absent values included, and is read strictly. This
migration reads the old documents just as strictly: a key it does not know stops it, naming the row, so no
term is lost on the way. It carries its own copy of both formats (a migration must not change meaning when
the code does later).

Revision ID: 0003
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"

Doc = Mapping[str, Any]


class OldTermsError(Exception):
    """An old row holds something this migration does not know how to carry over."""


def _known(doc: Any, where: str, keys: set[str]) -> Doc:
    if not isinstance(doc, dict):
        raise OldTermsError(f"{where}: expected an object, got {doc!r}")
    unknown = sorted(set(doc) - keys)
    if unknown:
        raise OldTermsError(f"{where}: unknown key(s) {', '.join(unknown)}; not migrated, so nothing is lost")
    return doc


def _required(doc: Doc, key: str, where: str) -> Any:
    if key not in doc:
        raise OldTermsError(f"{where}: missing {key}")
    return doc[key]


def _moment(raw: str | None) -> str | None:
    # proto3 JSON writes RFC 3339 with a Z; schema 1 writes Python's isoformat with +00:00.
    return None if raw is None else datetime.fromisoformat(raw).isoformat()


def _tier(doc: Any, where: str) -> dict[str, Any]:
    tier = _known(doc, where, {"upTo", "unitPrice", "flatFee"})
    return {
        "up_to": tier.get("upTo"),
        "unit_price": _required(tier, "unitPrice", where),
        "flat_fee": tier.get("flatFee", "0"),
    }


def _tiers(doc: Doc, where: str) -> list[dict[str, Any]]:
    return [_tier(t, f"{where}.tiers[{i}]") for i, t in enumerate(doc.get("tiers", []))]


def _unit(doc: Doc, where: str) -> dict[str, Any]:
    return {"unit_price": _required(_known(doc, where, {"unitPrice"}), "unitPrice", where)}


def _tiered(doc: Doc, where: str) -> dict[str, Any]:
    return {"tiers": _tiers(_known(doc, where, {"tiers"}), where)}


def _package(doc: Doc, where: str) -> dict[str, Any]:
    package = _known(doc, where, {"packageSize", "packagePrice", "freeUnits", "rounding"})
    return {
        "package_size": _required(package, "packageSize", where),
        "package_price": _required(package, "packagePrice", where),
        "free_units": package.get("freeUnits", "0"),
        "rounding": "DOWN" if package.get("rounding") == "PACKAGE_ROUNDING_DOWN" else "UP",
    }


def _percentage(doc: Doc, where: str) -> dict[str, Any]:
    keys = {"ratePercent", "fixedFee", "minPerTransaction", "maxPerTransaction", "freeEvents", "freeAmount"}
    percentage = _known(doc, where, keys)
    return {
        "rate_percent": _required(percentage, "ratePercent", where),
        "fixed_fee": percentage.get("fixedFee", "0"),
        "min_per_transaction": percentage.get("minPerTransaction"),
        "max_per_transaction": percentage.get("maxPerTransaction"),
        "free_events": int(percentage.get("freeEvents", 0)),  # int64 is a JSON string in proto3
        "free_amount": percentage.get("freeAmount", "0"),
    }


def _matrix(doc: Doc, where: str) -> dict[str, Any]:
    matrix = _known(doc, where, {"dimensions", "cells", "defaultUnitPrice"})
    cells = []
    for index, raw in enumerate(matrix.get("cells", [])):
        at = f"{where}.cells[{index}]"
        cell = _known(raw, at, {"dimensionValues", "unitPrice"})
        cells.append(
            {
                "dimension_values": cell.get("dimensionValues", []),
                "unit_price": _required(cell, "unitPrice", at),
            }
        )
    return {
        "dimensions": matrix.get("dimensions", []),
        "cells": cells,
        "default_unit_price": _required(matrix, "defaultUnitPrice", where),
    }


def _tiered_package(doc: Doc, where: str) -> dict[str, Any]:
    tiered = _known(doc, where, {"packageSize", "tiers"})
    return {"package_size": _required(tiered, "packageSize", where), "tiers": _tiers(tiered, where)}


def _flat(doc: Doc, where: str) -> dict[str, Any]:
    flat = _known(doc, where, {"amount", "timing", "prorate"})
    return {
        "amount": _required(flat, "amount", where),
        "timing": "IN_ARREARS" if flat.get("timing") == "BILLING_TIMING_IN_ARREARS" else "IN_ADVANCE",
        "prorate": bool(flat.get("prorate", False)),
    }


_MODELS: dict[str, tuple[str, Callable[[Doc, str], dict[str, Any]]]] = {
    "unit": ("unit", _unit),
    "graduated": ("graduated", _tiered),
    "volume": ("volume", _tiered),
    "package": ("package", _package),
    "percentage": ("percentage", _percentage),
    "matrix": ("matrix", _matrix),
    "tieredPackage": ("tiered_package", _tiered_package),
    "flat": ("flat", _flat),
}
_PRICE_KEYS = {"id", "productId", "currency", "meterId", "createdAt", *_MODELS}


def _model(price: Doc, where: str) -> dict[str, Any]:
    """The schema-1 price object of an old Price's model."""
    models = [key for key in _MODELS if key in price]
    if len(models) != 1:
        raise OldTermsError(f"{where}: expected exactly one price model, found {models}")
    name, convert = _MODELS[models[0]]
    return {
        "model": name,
        "currency": _required(price, "currency", where),
        **convert(price[models[0]], f"{where}.{models[0]}"),
    }


def _catalog_price(doc: Any, where: str) -> dict[str, Any]:
    price = _known(doc, where, _PRICE_KEYS)
    return {
        "id": price.get("id", ""),
        "product_id": price.get("productId", ""),
        "meter_id": price.get("meterId", ""),
        "created_at": _moment(price.get("createdAt")),
        "price": _model(price, where),
    }


def _amount(doc: Any, where: str) -> str | None:
    return None if doc is None else _required(_known(doc, where, {"amount", "currency"}), "amount", where)


def _discount(doc: Any, where: str) -> dict[str, Any]:
    discount = _known(doc, where, {"id", "kind", "value", "chargeId", "description"})
    kind = _required(discount, "kind", where)
    if kind not in ("DISCOUNT_KIND_PERCENTAGE", "DISCOUNT_KIND_FIXED"):
        raise OldTermsError(f"{where}.kind: {kind!r} is not a discount kind")
    return {
        "id": discount.get("id", ""),
        "kind": kind.removeprefix("DISCOUNT_KIND_"),
        "value": _required(discount, "value", where),
        "charge_id": discount.get("chargeId"),
        "description": discount.get("description", ""),
    }


def _override(doc: Any, where: str) -> dict[str, Any]:
    override = _known(doc, where, {"chargeId", "price", "includedQuantity"})
    price = override.get("price")
    return {
        "charge_id": override.get("chargeId", ""),
        "price": None if price is None else _catalog_price(price, f"{where}.price"),
        "included_quantity": override.get("includedQuantity"),
    }


def _overrides(doc: Doc, where: str) -> list[dict[str, Any]]:
    return [_override(o, f"{where}.priceOverrides[{i}]") for i, o in enumerate(doc.get("priceOverrides", []))]


def price_terms(old: Doc, where: str) -> dict[str, Any]:
    """An old ``prices.terms`` (a Price with currency and model only) as a schema-1 document."""
    price = _known(old, where, _PRICE_KEYS)
    return {"schema": 1, "price": _model(price, where)}


def plan_version_terms(old: Doc, where: str) -> dict[str, Any]:
    """An old ``plan_versions.terms`` (a PlanVersion without id, plan, number and time) as schema 1."""
    version = _known(old, where, {"charges", "minimumCommitment", "maximum", "discounts", "currency"})
    charges = []
    for index, raw in enumerate(version.get("charges", [])):
        at = f"{where}.charges[{index}]"
        charge = _known(raw, at, {"id", "name", "price", "includedQuantity"})
        charges.append(
            {
                "id": charge.get("id", ""),
                "name": charge.get("name", ""),
                "price": _catalog_price(_required(charge, "price", at), f"{at}.price"),
                "included_quantity": charge.get("includedQuantity", "0"),
            }
        )
    return {
        "schema": 1,
        "charges": charges,
        "minimum_commitment": _amount(version.get("minimumCommitment"), f"{where}.minimumCommitment"),
        "maximum": _amount(version.get("maximum"), f"{where}.maximum"),
        "discounts": [
            _discount(d, f"{where}.discounts[{i}]") for i, d in enumerate(version.get("discounts", []))
        ],
    }


def subscription_terms(old: Doc, where: str) -> dict[str, Any]:
    """An old ``subscriptions.terms`` (a Subscription with overrides and phases only) as schema 1."""
    terms = _known(old, where, {"priceOverrides", "phases"})
    phases = []
    for index, raw in enumerate(terms.get("phases", [])):
        at = f"{where}.phases[{index}]"
        phase = _known(raw, at, {"planVersionId", "startAt", "endAt", "priceOverrides"})
        phases.append(
            {
                "plan_version_id": phase.get("planVersionId", ""),
                "start_at": _moment(_required(phase, "startAt", at)),
                "end_at": _moment(phase.get("endAt")),
                "overrides": _overrides(phase, at),
                "discounts": [],
                "minimum_commitment": None,
            }
        )
    # Discounts and minimum commitments of their own came to subscriptions with schema 1: none before.
    return {
        "schema": 1,
        "overrides": _overrides(terms, where),
        "phases": phases,
        "discounts": [],
        "minimum_commitment": None,
    }


def _rewrite(table: str, convert: Callable[[Doc, str], dict[str, Any]]) -> None:
    rows = sa.table(table, sa.column("id", sa.Text), sa.column("terms", sa.Text))
    conn = op.get_bind()
    for row_id, terms in conn.execute(sa.select(rows.c.id, rows.c.terms)).all():
        new = convert(json.loads(terms), f"{table}[{row_id}].terms")
        conn.execute(
            sa.update(rows)
            .where(rows.c.id == row_id)
            .values(terms=json.dumps(new, sort_keys=True, separators=(",", ":")))
        )


def upgrade() -> None:
    _rewrite("prices", price_terms)
    _rewrite("plan_versions", plan_version_terms)
    _rewrite("subscriptions", subscription_terms)


def downgrade() -> None:
    raise NotImplementedError(
        "schema-1 terms are not written back as protobuf JSON; restore a backup instead"
    )
