"""Ingestion's pure domain: which events of a batch are accepted and why the others are rejected, the records
of the rejected-events log, meters as ingestion sees them, producers and their keys."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from tally.domain.errors import InvalidArgument, PermissionDenied
from tally.domain.numbers import NumberError, read_number

MAX_BATCH_EVENTS = 10_000
MAX_BATCH_BYTES = 4 * 1024 * 1024
MAX_EVENT_ID_LENGTH = 255
MAX_CUSTOMER_LENGTH = 255
MAX_EVENT_TYPE_LENGTH = 255
MAX_PROPERTIES = 50
MAX_PROPERTY_NAME_LENGTH = 128
MAX_PROPERTY_VALUE_LENGTH = 1024
FUTURE_TOLERANCE_MS = 5 * 60 * 1000


class UsageEventLike(Protocol):
    """The fields validation reads; a wire message satisfies it without this module importing it."""

    event_id: str
    customer: str
    event_type: str
    timestamp_ms: int

    @property
    def properties(self) -> Mapping[str, str]: ...


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why one event of a batch was refused: its index, a stable code, the field and a readable reason."""

    index: int
    event_id: str
    code: str
    field: str
    reason: str


@dataclass(frozen=True)
class ValidationPolicy:
    """The limits an event must respect at the time the batch arrives."""

    now_ms: int
    backfill_horizon_ms: int
    backfill: bool = False
    numeric_properties: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Per event type, the properties (sorted) that meters selecting it read as values: they must be finite
    decimals when present (an event lacking one is ignored by that meter, not rejected)."""


_NUL = "\x00"
"""Not storable in PostgreSQL text: refused in every string an event carries."""


def _reject(index: int, event: UsageEventLike, code: str, path: str, reason: str) -> Rejection:
    # The rejection itself is stored, so its copy of the id must be storable too.
    event_id = event.event_id[:MAX_EVENT_ID_LENGTH].replace(_NUL, "\ufffd")
    return Rejection(index, event_id, code, f"events[{index}].{path}", reason)


def _nul_in(index: int, event: UsageEventLike, path: str) -> Rejection:
    return _reject(
        index, event, "INVALID_CHARACTER", path, f"{path} must not contain NUL (U+0000) characters"
    )


def validate_event(index: int, event: UsageEventLike, policy: ValidationPolicy) -> Rejection | None:
    """The first problem with ``event`` or None when it is acceptable."""
    if not event.event_id:
        return _reject(
            index, event, "MISSING_EVENT_ID", "event_id", "event_id is required (it is the idempotency key)"
        )
    if len(event.event_id) > MAX_EVENT_ID_LENGTH:
        return _reject(
            index,
            event,
            "EVENT_ID_TOO_LONG",
            "event_id",
            f"event_id is longer than {MAX_EVENT_ID_LENGTH} characters",
        )
    if _NUL in event.event_id:
        return _nul_in(index, event, "event_id")
    if not event.customer.strip():
        return _reject(index, event, "MISSING_CUSTOMER", "customer", "customer is required (not blank)")
    if len(event.customer) > MAX_CUSTOMER_LENGTH:
        return _reject(
            index,
            event,
            "CUSTOMER_TOO_LONG",
            "customer",
            f"customer is longer than {MAX_CUSTOMER_LENGTH} characters",
        )
    if _NUL in event.customer:
        return _nul_in(index, event, "customer")
    if not event.event_type:
        return _reject(index, event, "MISSING_EVENT_TYPE", "event_type", "event_type is required")
    if len(event.event_type) > MAX_EVENT_TYPE_LENGTH:
        return _reject(
            index,
            event,
            "EVENT_TYPE_TOO_LONG",
            "event_type",
            f"event_type is longer than {MAX_EVENT_TYPE_LENGTH} characters",
        )
    if _NUL in event.event_type:
        return _nul_in(index, event, "event_type")
    if event.timestamp_ms == 0:
        return _reject(
            index, event, "MISSING_TIMESTAMP", "timestamp_ms", "timestamp_ms is required (Unix milliseconds)"
        )
    if event.timestamp_ms < 0:
        return _reject(
            index,
            event,
            "TIMESTAMP_TOO_OLD",
            "timestamp_ms",
            "timestamp is before 1970-01-01T00:00:00Z (Unix time 0), even for a backfill",
        )
    if event.timestamp_ms > policy.now_ms + FUTURE_TOLERANCE_MS:
        return _reject(
            index,
            event,
            "TIMESTAMP_IN_FUTURE",
            "timestamp_ms",
            "timestamp is more than 5 minutes in the future",
        )
    if not policy.backfill and event.timestamp_ms < policy.now_ms - policy.backfill_horizon_ms:
        return _reject(
            index,
            event,
            "TIMESTAMP_TOO_OLD",
            "timestamp_ms",
            "timestamp is older than the backfill horizon; send it in a batch marked backfill",
        )
    properties = event.properties
    if len(properties) > MAX_PROPERTIES:
        return _reject(
            index, event, "TOO_MANY_PROPERTIES", "properties", f"more than {MAX_PROPERTIES} properties"
        )
    for name, value in properties.items():
        if not name or len(name) > MAX_PROPERTY_NAME_LENGTH:
            return _reject(
                index,
                event,
                "PROPERTY_NAME_INVALID",
                f"properties[{name!r}]",
                f"property names must be 1-{MAX_PROPERTY_NAME_LENGTH} characters",
            )
        if len(value) > MAX_PROPERTY_VALUE_LENGTH:
            return _reject(
                index,
                event,
                "PROPERTY_VALUE_TOO_LONG",
                f"properties[{name!r}]",
                f"property value is longer than {MAX_PROPERTY_VALUE_LENGTH} characters",
            )
        if _NUL in name or _NUL in value:
            return _nul_in(index, event, f"properties[{name!r}]")
    numeric = policy.numeric_properties.get(event.event_type)
    if numeric:
        for name in numeric:
            raw = properties.get(name)
            if raw is None:
                continue
            try:
                read_number(raw)
            except NumberError as exc:
                return _reject(
                    index,
                    event,
                    exc.code,
                    f"properties[{name!r}]",
                    f"property {name!r} is a meter value: {exc.reason}",
                )
    return None


def nfc_customer(customer: str) -> str:
    """The customer id as stored: Unicode NFC, so one id typed with composed or decomposed accents is one
    customer downstream (the catalog's external ids are compared by exact text)."""
    if customer.isascii() or unicodedata.is_normalized("NFC", customer):
        return customer
    return unicodedata.normalize("NFC", customer)


def _same_payload(a: UsageEventLike, b: UsageEventLike) -> bool:
    return (
        a.customer == b.customer
        and a.event_type == b.event_type
        and a.timestamp_ms == b.timestamp_ms
        and dict(a.properties) == dict(b.properties)
    )


E = TypeVar("E", bound=UsageEventLike)


@dataclass(frozen=True, slots=True)
class BatchVerdict(Generic[E]):
    """A batch split: events to store, rejections, and how many exact repeats were folded into an earlier one."""

    accepted: list[E]
    rejected: list[tuple[Rejection, E]]
    repeats: int

    @property
    def accepted_count(self) -> int:
        """Accepted events as the producer sees them: an exact repeat is accepted, and stored once."""
        return len(self.accepted) + self.repeats


def validate_batch(events: Sequence[E], policy: ValidationPolicy) -> BatchVerdict[E]:
    """Validate every event; a second event with an accepted event's id is folded into it when identical
    (it would count once downstream anyway) and rejected as DUPLICATE_IN_BATCH when it differs."""
    accepted: list[E] = []
    rejected: list[tuple[Rejection, E]] = []
    first_index: dict[str, int] = {}
    repeats = 0
    for index, event in enumerate(events):
        rejection = validate_event(index, event, policy)
        if rejection is None:
            earlier = first_index.get(event.event_id)
            if earlier is None:
                first_index[event.event_id] = index
                accepted.append(event)
                continue
            original = events[earlier]
            if _same_payload(original, event):
                repeats += 1
                continue
            rejection = _reject(
                index,
                event,
                "DUPLICATE_IN_BATCH",
                "event_id",
                f"event_id {event.event_id[:40]!r} was already used by events[{earlier}] of this batch "
                "with a different payload",
            )
        rejected.append((rejection, event))
    return BatchVerdict(accepted, rejected, repeats)


# -- the rejected-events log ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RejectedRecord:
    """A rejected event as kept in the log."""

    id: int
    producer_id: str
    batch_id: str
    rejection: Rejection
    payload: dict[str, Any]
    received_at: datetime


@dataclass(frozen=True)
class RejectedFilter:
    producer_id: str | None = None
    from_time: datetime | None = None
    to_time: datetime | None = None
    code: str | None = None


# -- meters as ingestion sees them ---------------------------------------------------------------------

NUMERIC_AGGREGATIONS = frozenset({"SUM", "MAX", "MIN", "AVG", "LATEST", "WEIGHTED_SUM"})
"""Aggregations that read their value property as a decimal; COUNT and UNIQUE_COUNT do not."""


@dataclass(frozen=True, slots=True)
class MeterView:
    """What ingestion keeps of a meter: which events it selects and which property it reads as a number."""

    meter_id: str
    event_type: str
    aggregation: str
    value_property: str


def numeric_properties(meters: Iterable[MeterView]) -> dict[str, tuple[str, ...]]:
    """Event type → sorted value properties that must be numbers, from the live (not deleted) meters."""
    by_type: dict[str, set[str]] = {}
    for meter in meters:
        if meter.aggregation in NUMERIC_AGGREGATIONS and meter.value_property:
            by_type.setdefault(meter.event_type, set()).add(meter.value_property)
    return {event_type: tuple(sorted(names)) for event_type, names in by_type.items()}


# -- producers and their keys --------------------------------------------------------------------------

MAX_PRODUCER_NAME_LENGTH = 128
DEFAULT_KEY_SCOPES = frozenset({"usage:write"})
PRODUCER_SCOPES = frozenset({"usage:write", "usage:read"})
"""All a producer key may ever hold: send usage, and list its own producer's rejected events. Writing
invoices, the catalog or anything else is an operator's job, done with an operator key from the keyring."""


@dataclass(frozen=True)
class ProducerRecord:
    id: str
    name: str
    description: str
    created_at: datetime
    disabled: bool


@dataclass(frozen=True)
class KeyRow:
    """A producer key as stored: the SHA-256 of its secret, never the secret."""

    key_id: str
    producer_id: str
    name: str
    secret_sha256: str
    scopes: frozenset[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class KeyCredential:
    """What verifying a presented key needs, read in one query."""

    key: KeyRow
    producer_disabled: bool


def validate_producer_name(name: str) -> str:
    """The name to store (surrounding blanks dropped); refused when empty or too long."""
    cleaned = name.strip()
    if not cleaned:
        raise InvalidArgument.field("producer.name", "is required")
    if len(cleaned) > MAX_PRODUCER_NAME_LENGTH:
        raise InvalidArgument.field("producer.name", f"must be at most {MAX_PRODUCER_NAME_LENGTH} characters")
    return cleaned


def key_scopes(requested: Iterable[str]) -> frozenset[str]:
    """Scopes of a new producer key: ``usage:write`` by default, and never more than PRODUCER_SCOPES."""
    scopes = frozenset(requested)
    if not scopes:
        return DEFAULT_KEY_SCOPES
    allowed = ", ".join(sorted(PRODUCER_SCOPES))
    for scope in sorted(scopes):
        if scope not in PRODUCER_SCOPES:
            raise InvalidArgument.field(
                "scopes",
                f"{scope!r} is not a producer scope: a producer key may hold only {allowed}; "
                "operators' keys with other scopes come from the keyring (see SECURITY.md)",
            )
    return scopes


def rejections_producer(caller_producer: str | None, requested: str | None) -> str | None:
    """Whose rejected events a caller may list: a producer only its own (asking for another producer's is
    refused, not silently narrowed); an operator or service (``caller_producer`` None) whatever it asks."""
    if caller_producer is None:
        return requested
    if requested and requested != caller_producer:
        raise PermissionDenied(
            "a producer key lists only its own producer's rejected events; "
            f"producer_id {requested!r} is another producer"
        )
    return caller_producer
