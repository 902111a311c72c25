"""Corrections of stored usage: amending and voiding events, changing meters, rebuilding rollups from raw events.

Each correction rewrites whole (meter, customer, hour) rollups from the live raw events while holding the
usage lock (``lock_usage``), so the hot path can neither add to a rollup being rewritten nor insert an event
the rewrite misses: afterwards every rollup is again the bucket of its hour's live events.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, false, insert, or_, select, update

from tally.api.metering.v1 import events_pb2 as metering_events
from tally.domain.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from tally.mesh import streams
from tally.metering.aggregation import HOUR_MS, Bucket, contribution, hour_of
from tally.metering.closed_periods import lock_usage
from tally.metering.domain import Aggregation, MeterChange, MeterDefinition, restates_usage
from tally.metering.event_store import EventRecord, event_record
from tally.metering.handlers import MeterCatalog
from tally.metering.meter_events import meter_changed
from tally.metering.quarantine import why_unappliable
from tally.metering.recording.payload import IncomingEvent, payload_hash, properties_json
from tally.metering.store import (
    StoredMeter,
    closed_periods,
    event_audit,
    events,
    meter_from_row,
    meters,
    rollups,
    unique_values,
)
from tally.persistence import outbox

_EVENTS_PER_PAGE = 5_000
_ROWS_PER_INSERT = 1_000


def _now() -> datetime:
    return datetime.now(UTC)


class _RollupWriter:
    """Buffers recomputed buckets and inserts them a thousand rows at a time."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._rollups: list[dict[str, Any]] = []
        self._uniques: list[dict[str, Any]] = []
        self.written = 0

    def add(self, meter: StoredMeter, customer: str, hour_ms: int, groups: Mapping[str, Bucket]) -> None:
        distinct = meter.definition.aggregation is Aggregation.UNIQUE_COUNT
        for key, bucket in groups.items():
            where = {"meter_id": meter.id, "customer": customer, "group_key": key, "hour_ms": hour_ms}
            self._rollups.append(
                {
                    **where,
                    "count": bucket.count,
                    "sum": bucket.sum,
                    "min": bucket.min,
                    "max": bucket.max,
                    "latest_ts_ms": bucket.latest_ts_ms,
                    "latest_event_id": bucket.latest_event_id,
                    "latest_value": bucket.latest_value,
                    "weighted_ts": bucket.weighted_ts,
                }
            )
            if distinct:
                self._uniques.extend({**where, "value": value} for value in sorted(bucket.uniques))
        self.written += len(groups)
        if len(self._rollups) + len(self._uniques) >= _ROWS_PER_INSERT:
            self.flush()

    def flush(self) -> None:
        if self._rollups:
            self._conn.execute(insert(rollups), self._rollups)
        if self._uniques:
            self._conn.execute(insert(unique_values), self._uniques)
        self._rollups, self._uniques = [], []


def _clear(conn: Connection, meter_id: str, customer: str | None = None, hour_ms: int | None = None) -> None:
    for table in (rollups, unique_values):
        condition = table.c.meter_id == meter_id
        if customer is not None:
            condition = and_(condition, table.c.customer == customer)
        if hour_ms is not None:
            condition = and_(condition, table.c.hour_ms == hour_ms)
        conn.execute(delete(table).where(condition))


def _restate_hour(
    conn: Connection, defined: list[StoredMeter], customer: str, event_type: str, hour_ms: int
) -> None:
    """Rewrite every given meter's rollups of one customer and hour (all its groups) from the live events."""
    found = conn.execute(
        select(events.c.event_id, events.c.timestamp_ms, events.c.properties).where(
            events.c.customer == customer,
            events.c.event_type == event_type,
            events.c.timestamp_ms >= hour_ms,
            events.c.timestamp_ms < hour_ms + HOUR_MS,
            events.c.voided == false(),
        )
    ).all()
    live = [(row.event_id, row.timestamp_ms, json.loads(row.properties)) for row in found]
    writer = _RollupWriter(conn)
    for meter in defined:
        _clear(conn, meter.id, customer, hour_ms)
        groups: dict[str, Bucket] = {}
        for event_id, timestamp_ms, properties in live:
            item = contribution(meter.definition, event_type, properties, timestamp_ms, event_id)
            if item is not None:
                groups.setdefault(item.group, Bucket()).add(item)
        writer.add(meter, customer, hour_ms, groups)
    writer.flush()


def _rebuild_customer(conn: Connection, meter: StoredMeter, customer: str) -> tuple[int, int]:
    """Rewrite one customer's rollups of ``meter`` from its live events, an hour at a time (memory stays flat).

    Returns (events read, rollup rows written). The caller has cleared the customer's old rows.
    """
    writer = _RollupWriter(conn)
    definition = meter.definition
    read = 0
    hour: int | None = None
    groups: dict[str, Bucket] = {}
    last: tuple[int, int] | None = None
    while True:
        page = (
            select(events.c.id, events.c.event_id, events.c.timestamp_ms, events.c.properties)
            .where(
                events.c.customer == customer,
                events.c.event_type == definition.event_type,
                events.c.voided == false(),
            )
            .order_by(events.c.timestamp_ms, events.c.id)
            .limit(_EVENTS_PER_PAGE)
        )
        if last is not None:
            page = page.where(
                or_(
                    events.c.timestamp_ms > last[0],
                    and_(events.c.timestamp_ms == last[0], events.c.id > last[1]),
                )
            )
        rows = conn.execute(page).all()
        for row in rows:
            read += 1
            if hour_of(row.timestamp_ms) != hour:
                if hour is not None:
                    writer.add(meter, customer, hour, groups)
                hour, groups = hour_of(row.timestamp_ms), {}
            item = contribution(
                definition, definition.event_type, json.loads(row.properties), row.timestamp_ms, row.event_id
            )
            if item is not None:
                groups.setdefault(item.group, Bucket()).add(item)
        if len(rows) < _EVENTS_PER_PAGE:
            break
        last = (rows[-1].timestamp_ms, rows[-1].id)
    if hour is not None:
        writer.add(meter, customer, hour, groups)
    writer.flush()
    return read, writer.written


def _customers(conn: Connection, meter: StoredMeter) -> list[str]:
    """Customers with events the meter may select or with rollups of it (stale ones get cleared)."""
    with_events = select(events.c.customer).where(events.c.event_type == meter.definition.event_type)
    with_rollups = select(rollups.c.customer).where(rollups.c.meter_id == meter.id)
    return sorted(conn.execute(with_events.union(with_rollups)).scalars())


def _meter(conn: Connection, meter_id: str, *, field: str = "meter_id") -> StoredMeter:
    row = conn.execute(select(meters).where(meters.c.id == meter_id)).mappings().first()
    if row is None:
        raise NotFound("meter", meter_id, field=field)
    return meter_from_row(row)


def _meter_columns(definition: MeterDefinition) -> dict[str, Any]:
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


@dataclass(frozen=True)
class RebuildOutcome:
    """What a rebuild recomputed: live events read and rollup rows written."""

    event_count: int
    rollup_count: int


class MeterRevisions:
    """Meters with their rollups: a new meter is backfilled, a changed one restated, any one rebuilt."""

    def __init__(self, catalog: MeterCatalog, engine: Engine) -> None:
        self._catalog = catalog
        self._engine = engine

    async def create(self, definition: MeterDefinition) -> StoredMeter:
        """Define the meter, then fold in the events of its type that arrived before it."""
        stored = await self._catalog.create(definition)
        await asyncio.to_thread(self._rebuild, stored.id, "meter.id")
        return stored

    async def update(self, meter_id: str, change: MeterChange) -> StoredMeter:
        return await asyncio.to_thread(self._update, meter_id, change, _now())

    async def rebuild(self, meter_id: str) -> RebuildOutcome:
        return await asyncio.to_thread(self._rebuild, meter_id, "meter_id")

    def _update(self, meter_id: str, change: MeterChange, now: datetime) -> StoredMeter:
        # One transaction: nobody ever reads the new definition against the old rollups (or the reverse).
        with self._engine.begin() as conn:
            lock_usage(conn)
            current = _meter(conn, meter_id, field="meter.id")
            changed = change.applied_to(current.definition)
            # MeterChanged's message id carries updated_at in milliseconds: two updates never share one.
            now = max(now, current.updated_at + timedelta(milliseconds=1))
            conn.execute(
                update(meters)
                .where(meters.c.id == meter_id)
                .values(**_meter_columns(changed), updated_at=now)
            )
            outbox.enqueue(conn, *meter_changed(meter_id, changed, now))
            stored = StoredMeter(meter_id, changed, current.created_at, now)
            if restates_usage(current.definition, changed):
                _clear(conn, meter_id)
                for customer in _customers(conn, stored):
                    _rebuild_customer(conn, stored, customer)
        return stored

    def _rebuild(self, meter_id: str, field: str) -> RebuildOutcome:
        # Listing customers under the lock is a barrier: a recording transaction that read the meter list
        # before this meter existed has committed by now, so its customers are in the list.
        with self._engine.begin() as conn:
            lock_usage(conn)
            customers = _customers(conn, _meter(conn, meter_id, field=field))
        read = written = 0
        for customer in customers:
            # One transaction per customer: a reader sees a customer's old rollups or its new ones, never half.
            with self._engine.begin() as conn:
                lock_usage(conn)
                meter = _meter(conn, meter_id, field=field)
                _clear(conn, meter_id, customer)
                customer_read, customer_written = _rebuild_customer(conn, meter, customer)
            read += customer_read
            written += customer_written
        return RebuildOutcome(read, written)


class Correction(StrEnum):
    AMENDED = "AMENDED"
    VOIDED = "VOIDED"


_LATE_CAUSES = {
    Correction.AMENDED: metering_events.LATE_CAUSE_AMENDED,
    Correction.VOIDED: metering_events.LATE_CAUSE_VOIDED,
}


def _payload(record: EventRecord) -> str:
    event = record.event
    return json.dumps(
        {
            "customer": event.customer,
            "event_type": event.event_type,
            "timestamp_ms": event.timestamp_ms,
            "properties": event.properties,
            "voided": record.voided,
        },
        sort_keys=True,
    )


def _value_problems(
    defined: list[StoredMeter], event_type: str, properties: Mapping[str, str]
) -> list[FieldViolation]:
    """Amended values must be numbers for every meter that reads them, as ingestion demands of new events."""
    problems = []
    for meter in defined:
        definition = meter.definition
        if definition.aggregation in (Aggregation.COUNT, Aggregation.UNIQUE_COUNT):
            continue
        raw = properties.get(definition.value_property)
        if raw is None or not definition.selects(event_type, properties):
            continue
        try:
            finite = Decimal(raw).is_finite()
        except InvalidOperation:
            finite = False
        if not finite:
            problems.append(
                FieldViolation(
                    f"properties.{definition.value_property}",
                    f"must be a decimal number: meter {definition.key!r} reads it",
                )
            )
    return problems


class EventCorrections:
    """Amends and voids stored events, keeping an audit trail and the rollups equal to the live events."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def amend(
        self, producer_id: str, event_id: str, properties: Mapping[str, str], reason: str, actor: str
    ) -> EventRecord:
        return await asyncio.to_thread(
            self._correct, Correction.AMENDED, producer_id, event_id, dict(properties), reason, actor
        )

    async def void(self, producer_id: str, event_id: str, reason: str, actor: str) -> EventRecord:
        return await asyncio.to_thread(
            self._correct, Correction.VOIDED, producer_id, event_id, None, reason, actor
        )

    def _correct(
        self,
        correction: Correction,
        producer_id: str,
        event_id: str,
        properties: dict[str, str] | None,
        reason: str,
        actor: str,
    ) -> EventRecord:
        problems = [
            FieldViolation(name, "is required")
            for name, value in (
                ("producer_id", producer_id),
                ("event_id", event_id),
                ("reason", reason.strip()),
            )
            if not value
        ]
        if problems:
            raise InvalidArgument(problems)
        now_ms = int(_now().timestamp() * 1000)
        with self._engine.begin() as conn:
            lock_usage(conn)
            row = conn.execute(
                select(events).where(events.c.producer_id == producer_id, events.c.event_id == event_id)
            ).first()
            if row is None:
                raise NotFound("event", event_id, field="event_id")
            before = event_record(row)
            event = before.event
            if before.voided:
                raise FailedPrecondition(f"event {event_id!r} of producer {producer_id!r} is already voided")
            defined = [
                meter_from_row(found)
                for found in conn.execute(
                    select(meters).where(meters.c.event_type == event.event_type)
                ).mappings()
            ]
            if properties is None:
                changes: dict[str, Any] = {"voided": True}
            else:
                problems = _value_problems(defined, event.event_type, properties)
                unappliable = why_unappliable(event_id, event.customer, event.event_type, properties)
                if unappliable is not None:  # what the recorder would quarantine, an amendment may not write
                    problems.append(FieldViolation(unappliable.field, unappliable.reason))
                if problems:
                    raise InvalidArgument(problems)
                text = properties_json(properties)
                incoming = IncomingEvent(
                    event_id, event.customer, event.event_type, event.timestamp_ms, properties
                )
                changes = {"properties": text, "payload_hash": payload_hash(incoming, text), "amended": True}
            # By the unique key, not `id`: on PostgreSQL `id` has no index of its own (migration 0003).
            this_event = and_(events.c.producer_id == producer_id, events.c.event_id == event_id)
            conn.execute(update(events).where(this_event).values(**changes))
            after = event_record(conn.execute(select(events).where(this_event)).one())
            audit_id = conn.execute(
                insert(event_audit)
                .values(
                    producer_id=producer_id,
                    event_id=event_id,
                    action=correction.value,
                    before_payload=_payload(before),
                    after_payload=_payload(after),
                    reason=reason,
                    actor=actor,
                    at_ms=now_ms,
                )
                .returning(event_audit.c.id)
            ).scalar_one()
            _restate_hour(conn, defined, event.customer, event.event_type, hour_of(event.timestamp_ms))
            touched = sorted(
                meter.id
                for meter in defined
                if any(
                    not record.voided
                    and contribution(
                        meter.definition,
                        event.event_type,
                        record.event.properties,
                        event.timestamp_ms,
                        event_id,
                    )
                    is not None
                    for record in (before, after)
                )
            )
            closed_until = conn.execute(
                select(closed_periods.c.closed_until_ms).where(closed_periods.c.customer == event.customer)
            ).scalar()
            if touched and closed_until is not None and event.timestamp_ms < closed_until:
                late = metering_events.UsageLate(
                    customer=event.customer,
                    meter_ids=touched,
                    event_ids=[event_id],
                    producer_id=producer_id,
                    cause=_LATE_CAUSES[correction],
                )
                late.period.start.FromMilliseconds(event.timestamp_ms)
                late.period.end.FromMilliseconds(event.timestamp_ms + 1)
                late.detected_at.FromMilliseconds(now_ms)
                outbox.enqueue(
                    conn,
                    streams.USAGE_LATE,
                    late.SerializeToString(),
                    f"usage-late:{correction.value.lower()}:{producer_id}:{event_id}:{audit_id}",
                )
        return after
