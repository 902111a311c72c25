"""Prices, plan versions and ratings to and from tally.api.catalog.v1, with every bad field named by its path.

The one converter between the wire (and catalog's stored JSON, which is the wire's JSON form) and
``tally.pricing``: the catalog service, the ``tally rate`` command and, through them, quoting and invoicing
agree because they convert the same way. Parsing collects every unreadable field, then the engine's
validation reports every rule broken, both as one InvalidArgument naming paths such as
``price.graduated.tiers[1].up_to``.
"""

from __future__ import annotations

from decimal import Decimal

from tally.api.catalog.v1 import catalog_service_pb2 as pb
from tally.api.common.v1 import money_pb2
from tally.catalog.domain import CatalogPrice, PlanCharge, PlanVersionTerms
from tally.domain.errors import FieldViolation, InvalidArgument
from tally.mesh.wire import timestamp_from_wire, timestamp_to_wire
from tally.pricing.models import ZERO
from tally.pricing_wire import (
    Reader,
    discount_from_wire,
    discount_to_wire,
    fee_text,
    price_from_json,
    price_from_wire,
    price_to_wire,
    rate_on_wire,
    rating_to_wire,
    text,
    usage_from_wire,
)

__all__ = [
    "Reader",
    "catalog_price_from_wire",
    "catalog_price_to_wire",
    "charge_to_wire",
    "discount_to_wire",
    "plan_version_from_wire",
    "plan_version_to_wire",
    "price_from_json",
    "price_from_wire",
    "price_to_wire",
    "rate_on_wire",
    "rating_to_wire",
    "usage_from_wire",
]


def catalog_price_from_wire(message: pb.Price, *, field: str = "price") -> CatalogPrice:
    """The price with what it is for (id, product, meter), its model validated."""
    return CatalogPrice(
        model=price_from_wire(message, field=field),
        id=message.id,
        product_id=message.product_id,
        meter_id=message.meter_id,
        created_at=timestamp_from_wire(message.created_at),
    )


def catalog_price_to_wire(price: CatalogPrice) -> pb.Price:
    return price_to_wire(
        price.model,
        id=price.id,
        product_id=price.product_id,
        meter_id=price.meter_id,
        created_at=price.created_at,
    )


def _charge(
    read: Reader, message: pb.Charge, field: str, problems: list[FieldViolation]
) -> PlanCharge | None:
    price: CatalogPrice | None = None
    try:
        price = catalog_price_from_wire(message.price, field=f"{field}.price")
    except InvalidArgument as exc:
        problems.extend(exc.violations)
    included = read.decimal(message.included_quantity, f"{field}.included_quantity", default=ZERO)
    if price is None:
        return None
    return PlanCharge(message.id, message.name.strip(), price, included)


def _money_amount(read: Reader, money: money_pb2.Money, currency: str, field: str) -> Decimal:
    if money.currency != currency:
        read.violations.append(
            FieldViolation(
                f"{field}.currency", f"must be the plan version's currency {currency}, got {money.currency!r}"
            )
        )
    return read.decimal(money.amount, f"{field}.amount")


def plan_version_from_wire(message: pb.PlanVersion, *, field: str = "plan_version") -> PlanVersionTerms:
    """A plan version's terms; id, version and published_at are the caller's to set. Prices not yet validated
    as a plan (``validate_plan_version`` does that), but each price is read and checked on its own."""
    read = Reader()
    problems: list[FieldViolation] = []
    charges = [
        _charge(read, charge, f"{field}.charges[{index}]", problems)
        for index, charge in enumerate(message.charges)
    ]
    discounts = [
        discount_from_wire(read, discount, f"{field}.discounts[{index}]")
        for index, discount in enumerate(message.discounts)
    ]
    minimum = (
        _money_amount(read, message.minimum_commitment, message.currency, f"{field}.minimum_commitment")
        if message.HasField("minimum_commitment")
        else None
    )
    maximum = (
        _money_amount(read, message.maximum, message.currency, f"{field}.maximum")
        if message.HasField("maximum")
        else None
    )
    problems.extend(read.violations)
    if problems:
        raise InvalidArgument(problems)
    return PlanVersionTerms(
        id=message.id,
        plan_id=message.plan_id,
        version=message.version,
        currency=message.currency,
        charges=tuple(charge for charge in charges if charge is not None),
        minimum_commitment=minimum,
        maximum=maximum,
        discounts=tuple(discounts),
        published_at=timestamp_from_wire(message.published_at),
    )


def _money(amount: Decimal, currency: str) -> money_pb2.Money:
    return money_pb2.Money(amount=text(amount), currency=currency)


def charge_to_wire(charge: PlanCharge) -> pb.Charge:
    return pb.Charge(
        id=charge.id,
        name=charge.name,
        price=catalog_price_to_wire(charge.price),
        included_quantity=fee_text(charge.included_quantity),
    )


def plan_version_to_wire(terms: PlanVersionTerms) -> pb.PlanVersion:
    message = pb.PlanVersion(
        id=terms.id,
        plan_id=terms.plan_id,
        version=terms.version,
        charges=[charge_to_wire(charge) for charge in terms.charges],
        discounts=[discount_to_wire(discount) for discount in terms.discounts],
        currency=terms.currency,
    )
    if terms.minimum_commitment is not None:
        message.minimum_commitment.CopyFrom(_money(terms.minimum_commitment, terms.currency))
    if terms.maximum is not None:
        message.maximum.CopyFrom(_money(terms.maximum, terms.currency))
    if terms.published_at is not None:
        message.published_at.CopyFrom(timestamp_to_wire(terms.published_at))
    return message
