"""The pricing engine's models to and from the catalog contract's messages.

Shared by every service that prices (catalog rates and stores prices; invoicing and quoting read effective
terms); pure translation: validation of the models themselves is ``tally.pricing``'s.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from google.protobuf import json_format

from tally.api.catalog.v1 import catalog_service_pb2 as pb
from tally.api.common.v1 import money_pb2
from tally.domain.errors import FieldViolation, InvalidArgument
from tally.domain.numbers import parse_number
from tally.mesh.wire import decimal_to_wire, timestamp_from_wire, timestamp_to_wire
from tally.pricing import (
    BillingTerms,
    BillingTiming,
    BreakdownLine,
    Charge,
    Discount,
    DiscountKind,
    EventValues,
    FlatPrice,
    GraduatedPrice,
    MatrixCell,
    MatrixPrice,
    MatrixUsage,
    MatrixUsageEntry,
    PackagePrice,
    PackageRounding,
    PercentagePrice,
    Period,
    PlanVersion,
    Price,
    Rating,
    Tier,
    TieredPackagePrice,
    UnitPrice,
    Usage,
    VolumePrice,
    compile_price,
    price_violations,
)
from tally.pricing.models import ZERO


class Reader:
    """Reads decimal strings, collecting a violation per unreadable field instead of stopping at the first."""

    def __init__(self) -> None:
        self.violations: list[FieldViolation] = []

    def decimal(self, raw: str, field: str, *, default: Decimal | None = None) -> Decimal:
        """The decimal in ``raw``; ``default`` for an empty string when given. Unreadable: recorded, 0."""
        if raw == "" and default is not None:
            return default
        try:
            return parse_number(raw, field=field)
        except InvalidArgument as exc:
            self.violations.extend(exc.violations)
            return ZERO

    def optional(self, raw: str, field: str) -> Decimal | None:
        return None if raw == "" else self.decimal(raw, field)

    def raise_if_any(self) -> None:
        if self.violations:
            raise InvalidArgument(self.violations)


def _tiers(read: Reader, tiers: Iterable[pb.Tier], field: str) -> tuple[Tier, ...]:
    return tuple(
        Tier(
            up_to=read.optional(tier.up_to, f"{field}[{index}].up_to"),
            unit_price=read.decimal(tier.unit_price, f"{field}[{index}].unit_price"),
            flat_fee=read.decimal(tier.flat_fee, f"{field}[{index}].flat_fee", default=ZERO),
        )
        for index, tier in enumerate(tiers)
    )


def _model(read: Reader, message: pb.Price, field: str) -> Price | None:
    currency = message.currency
    kind = message.WhichOneof("model")
    at = f"{field}.{kind}"
    match kind:
        case "unit":
            return UnitPrice(currency, read.decimal(message.unit.unit_price, f"{at}.unit_price"))
        case "graduated":
            return GraduatedPrice(currency, _tiers(read, message.graduated.tiers, f"{at}.tiers"))
        case "volume":
            return VolumePrice(currency, _tiers(read, message.volume.tiers, f"{at}.tiers"))
        case "package":
            package = message.package
            return PackagePrice(
                currency,
                package_size=read.decimal(package.package_size, f"{at}.package_size"),
                package_price=read.decimal(package.package_price, f"{at}.package_price"),
                free_units=read.decimal(package.free_units, f"{at}.free_units", default=ZERO),
                rounding=PackageRounding.DOWN
                if package.rounding == pb.PACKAGE_ROUNDING_DOWN
                else PackageRounding.UP,
            )
        case "percentage":
            percentage = message.percentage
            return PercentagePrice(
                currency,
                rate_percent=read.decimal(percentage.rate_percent, f"{at}.rate_percent"),
                fixed_fee=read.decimal(percentage.fixed_fee, f"{at}.fixed_fee", default=ZERO),
                min_per_transaction=read.optional(
                    percentage.min_per_transaction, f"{at}.min_per_transaction"
                ),
                max_per_transaction=read.optional(
                    percentage.max_per_transaction, f"{at}.max_per_transaction"
                ),
                free_events=percentage.free_events,
                free_amount=read.decimal(percentage.free_amount, f"{at}.free_amount", default=ZERO),
            )
        case "matrix":
            matrix = message.matrix
            return MatrixPrice(
                currency,
                dimensions=tuple(matrix.dimensions),
                cells=tuple(
                    MatrixCell(
                        tuple(cell.dimension_values),
                        read.decimal(cell.unit_price, f"{at}.cells[{index}].unit_price"),
                    )
                    for index, cell in enumerate(matrix.cells)
                ),
                default_unit_price=read.decimal(matrix.default_unit_price, f"{at}.default_unit_price"),
            )
        case "tiered_package":
            tiered = message.tiered_package
            return TieredPackagePrice(
                currency,
                package_size=read.decimal(tiered.package_size, f"{at}.package_size"),
                tiers=_tiers(read, tiered.tiers, f"{at}.tiers"),
            )
        case "flat":
            flat = message.flat
            return FlatPrice(
                currency,
                amount=read.decimal(flat.amount, f"{at}.amount"),
                timing=BillingTiming.IN_ARREARS
                if flat.timing == pb.BILLING_TIMING_IN_ARREARS
                else BillingTiming.IN_ADVANCE,
                prorate=flat.prorate,
            )
    read.violations.append(
        FieldViolation(
            f"{field}.model",
            "exactly one price model must be set: unit, graduated, volume, package, percentage, matrix, "
            "tiered_package or flat",
        )
    )
    return None


def price_from_wire(message: pb.Price, *, field: str = "price") -> Price:
    """The engine price in ``message``, validated: InvalidArgument naming every bad field under ``field``."""
    read = Reader()
    price = _model(read, message, field)
    problems = read.violations
    if price is not None:
        # Unreadable fields were read as 0; the rules they would then break are not news to the caller.
        unreadable = {violation.field for violation in problems}
        problems += [v for v in price_violations(price, field) if v.field not in unreadable]
    if problems or price is None:
        raise InvalidArgument(problems)
    return price


def text(value: Decimal) -> str:
    return decimal_to_wire(value)


def optional_text(value: Decimal | None) -> str:
    return "" if value is None else decimal_to_wire(value)


def fee_text(value: Decimal) -> str:
    # The contract's "empty for none": a zero fee is left out rather than spelled "0".
    return "" if value == 0 else decimal_to_wire(value)


def _tiers_to_wire(tiers: tuple[Tier, ...]) -> list[pb.Tier]:
    return [
        pb.Tier(up_to=optional_text(t.up_to), unit_price=text(t.unit_price), flat_fee=fee_text(t.flat_fee))
        for t in tiers
    ]


def price_to_wire(
    price: Price,
    *,
    id: str = "",
    product_id: str = "",
    meter_id: str = "",
    created_at: datetime | None = None,
) -> pb.Price:
    """``price`` as the wire's Price message."""
    message = pb.Price(id=id, product_id=product_id, currency=price.currency, meter_id=meter_id)
    if created_at is not None:
        message.created_at.CopyFrom(timestamp_to_wire(created_at))
    match price:
        case UnitPrice():
            message.unit.unit_price = text(price.unit_price)
        case GraduatedPrice():
            message.graduated.tiers.extend(_tiers_to_wire(price.tiers))
        case VolumePrice():
            message.volume.tiers.extend(_tiers_to_wire(price.tiers))
        case PackagePrice():
            message.package.CopyFrom(
                pb.PackagePrice(
                    package_size=text(price.package_size),
                    package_price=text(price.package_price),
                    free_units=fee_text(price.free_units),
                    rounding=pb.PACKAGE_ROUNDING_DOWN
                    if price.rounding is PackageRounding.DOWN
                    else pb.PACKAGE_ROUNDING_UP,
                )
            )
        case PercentagePrice():
            message.percentage.CopyFrom(
                pb.PercentagePrice(
                    rate_percent=text(price.rate_percent),
                    fixed_fee=fee_text(price.fixed_fee),
                    min_per_transaction=optional_text(price.min_per_transaction),
                    max_per_transaction=optional_text(price.max_per_transaction),
                    free_events=price.free_events,
                    free_amount=fee_text(price.free_amount),
                )
            )
        case MatrixPrice():
            message.matrix.CopyFrom(
                pb.MatrixPrice(
                    dimensions=list(price.dimensions),
                    cells=[
                        pb.MatrixCell(
                            dimension_values=list(c.dimension_values), unit_price=text(c.unit_price)
                        )
                        for c in price.cells
                    ],
                    default_unit_price=text(price.default_unit_price),
                )
            )
        case TieredPackagePrice():
            message.tiered_package.package_size = text(price.package_size)
            message.tiered_package.tiers.extend(_tiers_to_wire(price.tiers))
        case FlatPrice():
            message.flat.CopyFrom(
                pb.FlatPrice(
                    amount=text(price.amount),
                    timing=pb.BILLING_TIMING_IN_ARREARS
                    if price.timing is BillingTiming.IN_ARREARS
                    else pb.BILLING_TIMING_IN_ADVANCE,
                    prorate=price.prorate,
                )
            )
    return message


def price_from_json(raw: str, *, field: str = "price") -> Price:
    """A price from the JSON form of the Price message (as ``tally rate --price`` reads it), validated."""
    message = pb.Price()
    try:
        json_format.Parse(raw, message)
    except json_format.ParseError as exc:
        raise InvalidArgument.field(field, f"is not a Price in JSON form: {exc}") from None
    return price_from_wire(message, field=field)


def usage_from_wire(request: pb.RateRequest) -> Usage:
    """The usage of a RateRequest: a quantity, event values or matrix usage, each decimal named on error."""
    read = Reader()
    usage: Usage
    match request.WhichOneof("usage"):
        case "quantity":
            usage = read.decimal(request.quantity, "usage.quantity")
        case "event_values":
            usage = EventValues(
                tuple(
                    read.decimal(value, f"usage.event_values.values[{index}]")
                    for index, value in enumerate(request.event_values.values)
                )
            )
        case "matrix_usage":
            usage = MatrixUsage(
                tuple(
                    MatrixUsageEntry(
                        tuple(entry.dimension_values),
                        read.decimal(entry.quantity, f"usage.matrix_usage.entries[{index}].quantity"),
                    )
                    for index, entry in enumerate(request.matrix_usage.entries)
                )
            )
        case _:
            raise InvalidArgument.field("usage", "set quantity, event_values or matrix_usage")
    read.raise_if_any()
    return usage


def breakdown_to_wire(line: BreakdownLine) -> pb.BreakdownLine:
    return pb.BreakdownLine(
        description=line.description,
        tier_index=line.tier_index,
        units=text(line.units),
        unit_price=text(line.unit_price),
        flat_fee=fee_text(line.flat_fee),
        subtotal=text(line.subtotal),
    )


def rating_to_wire(rating: Rating) -> pb.RateResponse:
    """The unrounded amount and its breakdown, as the Rate RPC answers."""
    return pb.RateResponse(
        amount=money_pb2.Money(amount=text(rating.amount), currency=rating.currency),
        breakdown=[breakdown_to_wire(line) for line in rating.breakdown],
    )


def rate_on_wire(request: pb.RateRequest) -> pb.RateResponse:
    """Rate: the request's usage priced with its price. Pure; shared by the RPC and ``tally rate``."""
    if not request.HasField("price"):
        raise InvalidArgument.field("price", "is required")
    price = price_from_wire(request.price)
    return rating_to_wire(compile_price(price).rate(usage_from_wire(request)))


_DISCOUNT_KINDS = {
    pb.DISCOUNT_KIND_PERCENTAGE: DiscountKind.PERCENTAGE,
    pb.DISCOUNT_KIND_FIXED: DiscountKind.FIXED,
}


def discount_from_wire(read: Reader, message: pb.Discount, field: str) -> Discount:
    """The engine discount; an unknown kind or unreadable value is recorded on ``read``."""
    kind = _DISCOUNT_KINDS.get(message.kind)
    if kind is None:
        read.violations.append(FieldViolation(f"{field}.kind", "must be PERCENTAGE or FIXED"))
        kind = DiscountKind.FIXED
    value = read.decimal(message.value, f"{field}.value")
    return Discount(message.id, kind, value, message.charge_id or None, message.description)


def charge_from_wire(message: pb.Charge, *, field: str = "charge") -> Charge:
    """The engine charge (price validated, included quantity read); InvalidArgument naming bad fields."""
    read = Reader()
    problems: list[FieldViolation] = []
    price: Price | None = None
    try:
        price = price_from_wire(message.price, field=f"{field}.price")
    except InvalidArgument as exc:
        problems.extend(exc.violations)
    included = read.decimal(message.included_quantity, f"{field}.included_quantity", default=ZERO)
    problems.extend(read.violations)
    if problems or price is None:
        raise InvalidArgument(problems)
    return Charge(message.id, message.name.strip(), price, included)


def discount_to_wire(discount: Discount) -> pb.Discount:
    return pb.Discount(
        id=discount.id,
        kind=pb.DISCOUNT_KIND_PERCENTAGE
        if discount.kind is DiscountKind.PERCENTAGE
        else pb.DISCOUNT_KIND_FIXED,
        value=text(discount.value),
        charge_id=discount.charge_id or "",
        description=discount.description,
    )


def plan_from_terms(message: pb.EffectiveTerms) -> tuple[PlanVersion, dict[str, str]]:
    """The engine plan of a subscription's effective terms and the meter of each usage charge (by charge id).

    InvalidArgument names every unreadable field under ``terms.``, not only the first.
    """
    read = Reader()
    problems: list[FieldViolation] = []
    charges: list[Charge] = []
    meters: dict[str, str] = {}
    for field, group in (
        ("terms.recurring_fees", message.recurring_fees),
        ("terms.usage_charges", message.usage_charges),
    ):
        for index, wire in enumerate(group):
            try:
                charge = charge_from_wire(wire, field=f"{field}[{index}]")
            except InvalidArgument as exc:
                problems.extend(exc.violations)
                continue
            charges.append(charge)
            if wire.price.meter_id:
                meters[charge.id] = wire.price.meter_id
    discounts = [
        discount_from_wire(read, discount, f"terms.discounts[{index}]")
        for index, discount in enumerate(message.discounts)
    ]
    minimum = (
        read.decimal(message.minimum_commitment.amount, "terms.minimum_commitment.amount")
        if message.HasField("minimum_commitment")
        else None
    )
    maximum = (
        read.decimal(message.maximum.amount, "terms.maximum.amount") if message.HasField("maximum") else None
    )
    problems.extend(read.violations)
    if problems:
        raise InvalidArgument(problems)
    return PlanVersion(message.currency, tuple(charges), minimum, maximum, tuple(discounts)), meters


def terms_from_wire(message: pb.EffectiveTerms) -> BillingTerms:
    """The engine plan of ``message`` and the billing period it prices; InvalidArgument naming every unreadable
    field."""
    plan, meters = plan_from_terms(message)
    start = timestamp_from_wire(message.billing_period.start)
    end = timestamp_from_wire(message.billing_period.end)
    if start is None or end is None:
        raise InvalidArgument.field("terms.billing_period", "is missing")
    return BillingTerms(
        subscription_id=message.subscription_id,
        customer_id=message.customer_id,
        currency=message.currency,
        period=Period(start, end),
        plan=plan,
        meters=meters,
    )
