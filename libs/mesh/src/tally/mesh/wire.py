"""Conversions between wire messages (Money, decimal strings, Timestamp) and domain values, in one module."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from google.protobuf.timestamp_pb2 import Timestamp

from tally.api.common.v1 import money_pb2
from tally.domain.errors import InvalidArgument
from tally.domain.numbers import parse_number
from tally.money import Money, is_known


def money_from_wire(message: money_pb2.Money, *, field: str) -> Money:
    """A domain Money from the wire, or InvalidArgument naming ``field.amount`` / ``field.currency``."""
    if not is_known(message.currency):
        raise InvalidArgument.field(
            f"{field}.currency", f"unknown currency {message.currency!r}: expected an ISO 4217 code"
        )
    return Money(parse_number(message.amount, field=f"{field}.amount"), message.currency)


def money_to_wire(money: Money) -> money_pb2.Money:
    return money_pb2.Money(amount=money.wire_amount(), currency=money.currency)


def decimal_from_wire(raw: str, *, field: str, default: Decimal | None = None) -> Decimal:
    """A number of the one numeric domain from the wire (VALUE_OUT_OF_RANGE naming ``field`` beyond it);
    empty means ``default`` when one is given."""
    if raw == "" and default is not None:
        return default
    return parse_number(raw, field=field)


def decimal_to_wire(value: Decimal) -> str:
    return format(value, "f")


def timestamp_to_wire(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment.astimezone(UTC))
    return stamp


def timestamp_from_wire(stamp: Timestamp) -> datetime | None:
    """A UTC datetime, or None when the field was not set (zero)."""
    if stamp.seconds == 0 and stamp.nanos == 0:
        return None
    return stamp.ToDatetime(tzinfo=UTC)
