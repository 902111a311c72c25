"""Metering's tables: raw events (the source of truth, unique per producer and event id) and meters."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    Numeric,
    Table,
    Text,
    UniqueConstraint,
    false,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError

from tally.domain.errors import AlreadyExists, NotFound
from tally.metering.domain import Aggregation, FilterOperator, MeterDefinition, PropertyFilter
from tally.metering.meter_events import meter_changed
from tally.persistence import outbox
from tally.persistence.types import DecimalText, UtcDateTime

metadata = MetaData()

events = Table(
    "events",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("producer_id", Text, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("customer", Text, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("timestamp_ms", BigInteger, nullable=False),
    Column("properties", Text, nullable=False),
    Column("batch_id", Text, nullable=False),
    Column("received_at_ms", BigInteger, nullable=False),
    Column("payload_hash", Text, nullable=False, server_default=""),
    Column("late", Boolean, nullable=False, server_default=false()),
    Column("amended", Boolean, nullable=False, server_default=false()),
    Column("voided", Boolean, nullable=False, server_default=false()),
    Column("recorded_at_ms", BigInteger, nullable=False, server_default="0"),
    UniqueConstraint("producer_id", "event_id", name="uq_events_producer_event"),
)

# Exact decimals on both databases: NUMERIC on PostgreSQL, decimal text on SQLite (see DecimalText).
DECIMAL = Numeric(asdecimal=True).with_variant(DecimalText(), "sqlite")

rollups = Table(
    "rollups",
    metadata,
    Column("meter_id", Text, primary_key=True),
    Column("customer", Text, primary_key=True),
    Column("group_key", Text, primary_key=True),
    Column("hour_ms", BigInteger, primary_key=True),
    Column("count", BigInteger, nullable=False),
    Column("sum", DECIMAL, nullable=False),
    Column("min", DECIMAL, nullable=True),
    Column("max", DECIMAL, nullable=True),
    Column("latest_ts_ms", BigInteger, nullable=True),
    Column("latest_event_id", Text, nullable=False),
    Column("latest_value", DECIMAL, nullable=True),
    Column("weighted_ts", DECIMAL, nullable=False),
)
"""One row per (meter, customer, group, UTC hour): a Bucket (aggregation.py) of the hour's live events."""

unique_values = Table(
    "unique_values",
    metadata,
    Column("meter_id", Text, primary_key=True),
    Column("customer", Text, primary_key=True),
    Column("group_key", Text, primary_key=True),
    Column("hour_ms", BigInteger, primary_key=True),
    Column("value", Text, primary_key=True),
)
"""Distinct raw values per hour, for UNIQUE_COUNT meters (a count cannot be merged across hours)."""

event_conflicts = Table(
    "event_conflicts",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("producer_id", Text, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("batch_id", Text, nullable=False),
    Column("stored_hash", Text, nullable=False),
    Column("received_payload", Text, nullable=False),
    Column("detected_at_ms", BigInteger, nullable=False),
)
"""An event id seen again with a different payload: kept for review, never merged into usage."""

event_audit = Table(
    "event_audit",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("producer_id", Text, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("before_payload", Text, nullable=False),
    Column("after_payload", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
)
"""Every AmendEvent and VoidEvent: who, why, and the payload before and after."""

quarantined_events = Table(
    "quarantined_events",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("producer_id", Text, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("batch_id", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("field", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("quarantined_at_ms", BigInteger, nullable=False),
    UniqueConstraint("producer_id", "event_id", name="uq_quarantined_events_producer_event"),
)
"""Events metering could not apply (quarantine.py), set aside with their reason so their batch commits.

Unique per (producer, event id): a redelivered batch sets nothing aside twice. Ids are stored with any NUL
written as ``\\x00`` (text cannot hold NUL); ``payload`` is the event as JSON (customer, event_type,
timestamp_ms, properties)."""


@dataclass(frozen=True)
class QuarantinedEvent:
    """One event set aside, as ListQuarantined shows it."""

    id: int
    producer_id: str
    event_id: str
    batch_id: str
    customer: str
    event_type: str
    timestamp_ms: int
    properties: dict[str, str]
    field: str
    reason: str
    quarantined_at_ms: int


@dataclass(frozen=True)
class EventConflict:
    """An event id seen again with another payload, as ListConflicts shows it."""

    id: int
    producer_id: str
    batch_id: str
    received: EventRow
    detected_at_ms: int


class ConflictStore:
    """Reads the conflicts kept for review, oldest first, in keyset pages by id."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def list(self, *, producer_id: str, after_id: int | None, limit: int) -> list[EventConflict]:
        query = select(event_conflicts).order_by(event_conflicts.c.id).limit(limit)
        if producer_id:
            query = query.where(event_conflicts.c.producer_id == producer_id)
        if after_id is not None:
            query = query.where(event_conflicts.c.id > after_id)
        with self._engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        found = []
        for row in rows:
            payload = json.loads(row["received_payload"])
            received = EventRow(
                producer_id=row["producer_id"],
                event_id=row["event_id"],
                customer=payload["customer"],
                event_type=payload["event_type"],
                timestamp_ms=payload["timestamp_ms"],
                properties=payload["properties"],
                batch_id=row["batch_id"],
                received_at_ms=row["detected_at_ms"],
            )
            found.append(
                EventConflict(row["id"], row["producer_id"], row["batch_id"], received, row["detected_at_ms"])
            )
        return found


class QuarantineStore:
    """Reads the events set aside, oldest first, in keyset pages by id."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def list(self, *, producer_id: str, after_id: int | None, limit: int) -> list[QuarantinedEvent]:
        query = select(quarantined_events).order_by(quarantined_events.c.id).limit(limit)
        if producer_id:
            query = query.where(quarantined_events.c.producer_id == producer_id)
        if after_id is not None:
            query = query.where(quarantined_events.c.id > after_id)
        with self._engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        found = []
        for row in rows:
            payload = json.loads(row["payload"])
            found.append(
                QuarantinedEvent(
                    id=row["id"],
                    producer_id=row["producer_id"],
                    event_id=row["event_id"],
                    batch_id=row["batch_id"],
                    customer=payload["customer"],
                    event_type=payload["event_type"],
                    timestamp_ms=payload["timestamp_ms"],
                    properties=payload["properties"],
                    field=row["field"],
                    reason=row["reason"],
                    quarantined_at_ms=row["quarantined_at_ms"],
                )
            )
        return found


closed_periods = Table(
    "closed_periods",
    metadata,
    Column("customer", Text, primary_key=True),
    Column("closed_until_ms", BigInteger, nullable=False),
)
"""Per customer, the end of the last invoiced period: events before it arrive late."""

meters = Table(
    "meters",
    metadata,
    Column("id", Text, primary_key=True),
    Column("key", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("aggregation", Text, nullable=False),
    Column("value_property", Text, nullable=False),
    Column("filters", Text, nullable=False),
    Column("group_by", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)


@dataclass(frozen=True)
class EventRow:
    """One accepted usage event as metering stores it."""

    producer_id: str
    event_id: str
    customer: str
    event_type: str
    timestamp_ms: int
    properties: dict[str, str]
    batch_id: str
    received_at_ms: int


@dataclass(frozen=True)
class StoredMeter:
    id: str
    definition: MeterDefinition
    created_at: datetime
    updated_at: datetime


def meters_in_force(conn: Connection) -> list[StoredMeter]:
    """Every meter, in id order, read in ``conn``'s transaction."""
    return [meter_from_row(row) for row in conn.execute(select(meters).order_by(meters.c.id)).mappings()]


class MeterStore:
    """Meter definitions, unique by key."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, meter_id: str, definition: MeterDefinition, now: datetime) -> StoredMeter:
        values = {
            "id": meter_id,
            "key": definition.key,
            **meter_columns(definition),
            "created_at": now,
            "updated_at": now,
        }
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(meters).values(**values))
                # Ingestion learns which properties must be numbers from this event (same transaction).
                outbox.enqueue(conn, *meter_changed(meter_id, definition, now))
        except IntegrityError:
            raise AlreadyExists("meter", definition.key, field="meter.key") from None
        return StoredMeter(meter_id, definition, now, now)

    def announce_all(self, announcement: str) -> int:
        """Restate every meter as a MeterChanged (at its own updated_at), in one transaction; how many.

        Consumers that keep a projection of the meters (ingestion's numeric checks) may have started after
        the original events left the stream, or on a new database: at each start metering tells them again.
        """
        with self._engine.begin() as conn:
            stored = meters_in_force(conn)
            for meter in stored:
                changed_at = meter.updated_at
                if changed_at.tzinfo is None:  # SQLite keeps naive UTC
                    changed_at = changed_at.replace(tzinfo=UTC)
                outbox.enqueue(
                    conn, *meter_changed(meter.id, meter.definition, changed_at, announcement=announcement)
                )
        return len(stored)

    def get(self, meter_id: str) -> StoredMeter:
        with self._engine.connect() as conn:
            row = conn.execute(select(meters).where(meters.c.id == meter_id)).mappings().first()
        if row is None:
            raise NotFound("meter", meter_id, field="meter_id")
        return meter_from_row(row)

    def list(self, *, after_id: str | None, limit: int) -> list[StoredMeter]:
        query = select(meters).order_by(meters.c.id).limit(limit)
        if after_id is not None:
            query = query.where(meters.c.id > after_id)
        with self._engine.connect() as conn:
            return [meter_from_row(row) for row in conn.execute(query).mappings().all()]


def meter_columns(definition: MeterDefinition) -> dict[str, Any]:
    """The ``meters`` columns of a definition that an update may change (all but id, key and the times)."""
    return {
        "name": definition.name,
        "event_type": definition.event_type,
        "aggregation": definition.aggregation.value,
        "value_property": definition.value_property,
        "filters": json.dumps(
            [
                {"property": f.property, "operator": f.operator.value, "values": list(f.values)}
                for f in definition.filters
            ]
        ),
        "group_by": json.dumps(list(definition.group_by)),
    }


def meter_from_row(row: object) -> StoredMeter:
    data = dict(row)  # type: ignore[call-overload]
    definition = MeterDefinition(
        key=data["key"],
        name=data["name"],
        event_type=data["event_type"],
        aggregation=Aggregation(data["aggregation"]),
        value_property=data["value_property"],
        filters=tuple(
            PropertyFilter(f["property"], FilterOperator(f["operator"]), tuple(f["values"]))
            for f in json.loads(data["filters"])
        ),
        group_by=tuple(json.loads(data["group_by"])),
    )
    return StoredMeter(data["id"], definition, data["created_at"], data["updated_at"])
