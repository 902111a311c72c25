"""What metering cannot apply: an event whose content would fail its batch's transaction, and why (pure).

Ingestion refuses such events, but an older ingestion or a forged message can still deliver one, and one bad
event must not sink the 999 good ones beside it: it is set aside (``quarantined_events``) with its reason and
the rest of the batch commits. The check does not depend on the meters in force, so a meter created later
(and its backfill) never meets a value it cannot add.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

VALUE_EXPONENT_LIMIT = 6144
"""A property value read as a number must lie within 10^±6144 (the exponent range of IEEE decimal128).

Within it every sum and Σ value·t a bucket keeps stays far inside Python's decimal context (10^999999) and
PostgreSQL's NUMERIC (131,072 digits before the point, 16,383 after), so no rollup write can overflow."""

_PLAIN_DIGITS_LIMIT = 1000
"""A value this long or shorter without an exponent marker cannot be out of range, so it is not parsed."""

_EXPONENT_FORM = re.compile(r"\s*[+-]?(\d[\d_]*\.?[\d_]*|\.\d[\d_]*)[eE]\s*[+-]?\d", re.ASCII | re.IGNORECASE)
"""Something ``Decimal()`` may read as a number with an exponent (ASCII shapes: see ``_parsed`` for others)."""

_DIGIT_BEFORE_EXPONENT = re.compile(r"[0-9.][eE]")
"""Where a number with an exponent could be, in properties' JSON text (``"eu-west"`` has none)."""

_SHOWN = 40
"""Characters of an offending value quoted in a reason."""


class Unappliable(NamedTuple):
    """Why an event is set aside: the field at fault (``properties.<name>``, ``event_id`` …) and the reason."""

    field: str
    reason: str


def why_unappliable(
    event_id: str,
    customer: str,
    event_type: str,
    properties: Mapping[str, str],
    properties_json: str | None = None,
) -> Unappliable | None:
    """None if metering can store and count the event; else the first field that stops it, and why.

    ``properties_json`` (the recorder's canonical, ASCII-escaped text of ``properties``) lets the common
    event pass on one look at that text: short, no escapes (so no NUL, no non-ASCII digit, no whitespace
    around a number) and no digit directly before an exponent marker means no property can be out of range.
    """
    if "\x00" in event_id or "\x00" in customer or "\x00" in event_type:
        return _nul_in(event_id, customer, event_type)
    if (
        properties_json is not None
        and len(properties_json) <= _PLAIN_DIGITS_LIMIT
        and "\\" not in properties_json
        and not _DIGIT_BEFORE_EXPONENT.search(properties_json)
    ):
        return None
    for name, raw in properties.items():
        if "\x00" in name or "\x00" in raw:
            return Unappliable(
                f"properties.{_shown(name)}", "contains a NUL character, which the events table cannot store"
            )
        if len(raw) <= _PLAIN_DIGITS_LIMIT and "e" not in raw and "E" not in raw and raw.isascii():
            continue
        value = _parsed(raw)
        if value is None or not value.is_finite():
            continue
        exponent = value.adjusted()
        if not -VALUE_EXPONENT_LIMIT <= exponent <= VALUE_EXPONENT_LIMIT:
            return Unappliable(
                f"properties.{_shown(name)}",
                f"value {_shown(raw)} is out of range: a number metering counts must lie within "
                f"10^±{VALUE_EXPONENT_LIMIT} (its exponent is {exponent})",
            )
    return None


def _nul_in(event_id: str, customer: str, event_type: str) -> Unappliable:
    name = "event_id" if "\x00" in event_id else "customer" if "\x00" in customer else "event_type"
    return Unappliable(name, "contains a NUL character, which the events table cannot store")


def _parsed(raw: str) -> Decimal | None:
    """``raw`` as a meter would read it (``Decimal(raw)``), or None if it is not a number at all."""
    if raw.isascii() and len(raw) <= _PLAIN_DIGITS_LIMIT and not _EXPONENT_FORM.match(raw):
        return None  # has an 'e' but is not shaped like a number: the common case ("eu-west"), no exception
    try:
        return Decimal(raw)
    except InvalidOperation:
        return None


def _shown(text: str) -> str:
    """``text`` as quoted in a reason: printable, and cut short."""
    quoted = text.replace("\x00", "\\x00")
    return quoted if len(quoted) <= _SHOWN else quoted[:_SHOWN] + "…"
