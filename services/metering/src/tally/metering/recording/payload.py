"""What an event says, as text: its canonical properties, its fingerprint and its payload for review (pure).

The fingerprint is what makes a repeated event id a duplicate (same fingerprint) or a conflict (another
one). It is computed here only: by the recorder for every delivered event, and by an amendment for the
properties it writes, so the two can never disagree.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from json.encoder import encode_basestring_ascii
from typing import NamedTuple

from tally.metering.rollup_fold import FoldedEvent


class IncomingEvent(NamedTuple):
    """One event of a delivered batch, as the recorder needs it."""

    event_id: str
    customer: str
    event_type: str
    timestamp_ms: int
    properties: Mapping[str, str]


def properties_json(properties: Mapping[str, str]) -> str:
    """Canonical text of an event's properties: exactly ``json.dumps(sort_keys=True, separators=(",", ":"))``
    (stored fingerprints depend on it), built with the C string escaper and no encoder object per event."""
    if not properties:
        return "{}"
    quote = encode_basestring_ascii
    return "{" + ",".join([quote(name) + ":" + quote(properties[name]) for name in sorted(properties)]) + "}"


def payload_hash(event: FoldedEvent, properties_json: str) -> str:
    """Fingerprint of what an event says (``properties_json`` is its properties' canonical text)."""
    text = f"{event.customer}\x1f{event.event_type}\x1f{event.timestamp_ms}\x1f{properties_json}"
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def payload_json(event: FoldedEvent) -> str:
    """The event without its id, as JSON: how a conflicting or quarantined event is kept for review."""
    return json.dumps(
        {
            "customer": event.customer,
            "event_type": event.event_type,
            "timestamp_ms": event.timestamp_ms,
            "properties": dict(event.properties),
        },
        sort_keys=True,
    )
