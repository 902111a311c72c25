"""Quoting's stored terms: each version of a quote as a schema-1 document, read strictly.

The document is ``tally.pricing_wire.documents``' format (prices and discounts as catalog stores them): every
object carries exactly the keys listed here, absent values as ``null``, so a key renamed in the code or in
the database stops the read with an error naming the row, the path and the key instead of dropping a term.
A new schema comes with a migration that rewrites every row in place.
"""

from __future__ import annotations

from typing import Any

from tally.pricing import EventValues, MatrixUsage, MatrixUsageEntry, Usage
from tally.pricing_wire.documents import (
    choice,
    decimal,
    decimal_text,
    discount_doc,
    dump,
    fields,
    flag,
    instant_text,
    items,
    load,
    optional_decimal,
    optional_moment,
    optional_text,
    price_doc,
    read_discount,
    read_price,
    strings,
    text,
    whole,
)
from tally.quoting.domain import (
    Address,
    BillingCycle,
    NegotiatedPrice,
    Prospect,
    QuoteLine,
    QuoteTerms,
    Ramp,
    UsageAssumption,
)

SCHEMA = 1
"""The one schema this code reads and writes; migration 0002 wrote the quotes stored before in it."""

_TERMS_KEYS = (
    "customer_id",
    "prospect",
    "currency",
    "plan_version_id",
    "start_at",
    "term_months",
    "billing_cycle",
    "anniversary",
    "valid_until",
    "payment_terms_days",
    "lines",
    "discounts",
    "minimum_commitment",
    "prepaid_credit",
    "ramps",
    "assumptions",
)
_ADDRESS_KEYS = ("line1", "line2", "city", "region", "postal_code", "country")


def _prospect_doc(prospect: Prospect | None) -> dict[str, Any] | None:
    if prospect is None:
        return None
    return {
        "external_id": prospect.external_id,
        "name": prospect.name,
        "email": prospect.email,
        "address": {key: getattr(prospect.address, key) for key in _ADDRESS_KEYS},
        "tax_id": prospect.tax_id,
        "tax_rate_percent": decimal_text(prospect.tax_rate_percent),
        "tax_exempt": prospect.tax_exempt,
    }


def _prospect(raw: Any, path: str) -> Prospect | None:
    if raw is None:
        return None
    doc = fields(
        raw, path, ("external_id", "name", "email", "address", "tax_id", "tax_rate_percent", "tax_exempt")
    )
    address = fields(doc["address"], f"{path}.address", _ADDRESS_KEYS)
    return Prospect(
        external_id=text(doc["external_id"], f"{path}.external_id"),
        name=text(doc["name"], f"{path}.name"),
        email=text(doc["email"], f"{path}.email"),
        address=Address(**{key: text(address[key], f"{path}.address.{key}") for key in _ADDRESS_KEYS}),
        tax_id=text(doc["tax_id"], f"{path}.tax_id"),
        tax_rate_percent=optional_decimal(doc["tax_rate_percent"], f"{path}.tax_rate_percent"),
        tax_exempt=flag(doc["tax_exempt"], f"{path}.tax_exempt"),
    )


def _line_doc(line: QuoteLine) -> dict[str, Any]:
    price = line.price
    return {
        "charge_id": line.charge_id,
        "description": line.description,
        "price": None if price is None else {"meter_id": price.meter_id, "price": price_doc(price.price)},
        "included_quantity": decimal_text(line.included_quantity),
    }


def _line(raw: Any, path: str) -> QuoteLine:
    doc = fields(raw, path, ("charge_id", "description", "price", "included_quantity"))
    price = None
    if doc["price"] is not None:
        negotiated = fields(doc["price"], f"{path}.price", ("meter_id", "price"))
        price = NegotiatedPrice(
            read_price(negotiated["price"], f"{path}.price.price"),
            text(negotiated["meter_id"], f"{path}.price.meter_id"),
        )
    return QuoteLine(
        charge_id=text(doc["charge_id"], f"{path}.charge_id"),
        description=text(doc["description"], f"{path}.description"),
        price=price,
        included_quantity=optional_decimal(doc["included_quantity"], f"{path}.included_quantity"),
    )


def _ramp_doc(ramp: Ramp) -> dict[str, Any]:
    return {
        "start_month": ramp.start_month,
        "months": ramp.months,
        "description": ramp.description,
        "lines": [_line_doc(line) for line in ramp.lines],
        "discounts": [discount_doc(discount) for discount in ramp.discounts],
    }


def _ramp(raw: Any, path: str) -> Ramp:
    doc = fields(raw, path, ("start_month", "months", "description", "lines", "discounts"))
    return Ramp(
        start_month=whole(doc["start_month"], f"{path}.start_month"),
        months=whole(doc["months"], f"{path}.months"),
        description=text(doc["description"], f"{path}.description"),
        lines=items(doc["lines"], f"{path}.lines", _line),
        discounts=items(doc["discounts"], f"{path}.discounts", read_discount),
    )


def _usage_doc(usage: Usage) -> dict[str, Any]:
    if isinstance(usage, EventValues):
        return {"kind": "event_values", "values": [str(value) for value in usage.values]}
    if isinstance(usage, MatrixUsage):
        entries = [
            {"dimension_values": list(e.dimension_values), "quantity": str(e.quantity)} for e in usage.entries
        ]
        return {"kind": "matrix", "entries": entries}
    return {"kind": "quantity", "quantity": str(usage)}


def _entry(raw: Any, path: str) -> MatrixUsageEntry:
    doc = fields(raw, path, ("dimension_values", "quantity"))
    return MatrixUsageEntry(
        strings(doc["dimension_values"], f"{path}.dimension_values"),
        decimal(doc["quantity"], f"{path}.quantity"),
    )


def _usage(raw: Any, path: str) -> Usage:
    kind = choice(
        raw.get("kind") if isinstance(raw, dict) else None,
        f"{path}.kind",
        {"quantity": "quantity", "event_values": "event_values", "matrix": "matrix"},
    )
    if kind == "event_values":
        doc = fields(raw, path, ("kind", "values"))
        return EventValues(items(doc["values"], f"{path}.values", decimal))
    if kind == "matrix":
        doc = fields(raw, path, ("kind", "entries"))
        return MatrixUsage(items(doc["entries"], f"{path}.entries", _entry))
    doc = fields(raw, path, ("kind", "quantity"))
    return decimal(doc["quantity"], f"{path}.quantity")


def _assumption_doc(assumption: UsageAssumption) -> dict[str, Any]:
    return {
        "meter_id": assumption.meter_id,
        "charge_id": assumption.charge_id,
        "period": assumption.period,
        "usage": _usage_doc(assumption.usage),
    }


def _assumption(raw: Any, path: str) -> UsageAssumption:
    doc = fields(raw, path, ("meter_id", "charge_id", "period", "usage"))
    return UsageAssumption(
        meter_id=text(doc["meter_id"], f"{path}.meter_id"),
        charge_id=text(doc["charge_id"], f"{path}.charge_id"),
        period=whole(doc["period"], f"{path}.period"),
        usage=_usage(doc["usage"], f"{path}.usage"),
    )


def dump_terms(terms: QuoteTerms) -> str:
    return dump(
        SCHEMA,
        {
            "customer_id": terms.customer_id,
            "prospect": _prospect_doc(terms.prospect),
            "currency": terms.currency,
            "plan_version_id": terms.plan_version_id,
            "start_at": instant_text(terms.start_at),
            "term_months": terms.term_months,
            "billing_cycle": None if terms.billing_cycle is None else terms.billing_cycle.name,
            "anniversary": terms.anniversary,
            "valid_until": instant_text(terms.valid_until),
            "payment_terms_days": terms.payment_terms_days,
            "lines": [_line_doc(line) for line in terms.lines],
            "discounts": [discount_doc(discount) for discount in terms.discounts],
            "minimum_commitment": decimal_text(terms.minimum_commitment),
            "prepaid_credit": decimal_text(terms.prepaid_credit),
            "ramps": [_ramp_doc(ramp) for ramp in terms.ramps],
            "assumptions": [_assumption_doc(a) for a in terms.assumptions],
        },
    )


def load_terms(document: str, what: str) -> QuoteTerms:
    doc = load(document, what, SCHEMA, _TERMS_KEYS)
    cycle = optional_text(doc["billing_cycle"], f"{what}.billing_cycle")
    return QuoteTerms(
        customer_id=text(doc["customer_id"], f"{what}.customer_id"),
        prospect=_prospect(doc["prospect"], f"{what}.prospect"),
        currency=text(doc["currency"], f"{what}.currency"),
        plan_version_id=text(doc["plan_version_id"], f"{what}.plan_version_id"),
        start_at=optional_moment(doc["start_at"], f"{what}.start_at"),
        term_months=whole(doc["term_months"], f"{what}.term_months"),
        billing_cycle=None
        if cycle is None
        else choice(cycle, f"{what}.billing_cycle", BillingCycle.__members__),
        anniversary=flag(doc["anniversary"], f"{what}.anniversary"),
        valid_until=optional_moment(doc["valid_until"], f"{what}.valid_until"),
        payment_terms_days=whole(doc["payment_terms_days"], f"{what}.payment_terms_days"),
        lines=items(doc["lines"], f"{what}.lines", _line),
        discounts=items(doc["discounts"], f"{what}.discounts", read_discount),
        minimum_commitment=optional_decimal(doc["minimum_commitment"], f"{what}.minimum_commitment"),
        prepaid_credit=optional_decimal(doc["prepaid_credit"], f"{what}.prepaid_credit"),
        ramps=items(doc["ramps"], f"{what}.ramps", _ramp),
        assumptions=items(doc["assumptions"], f"{what}.assumptions", _assumption),
    )
