"""The store behind corrections (corrections.py): transactions holding the usage lock, and in them the events
amended or voided with their audit trail, meters changed, and rollups cleared and rewritten."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, false, insert, or_, select, update

from tally.metering.aggregation import HOUR_MS, Bucket
from tally.metering.closed_periods import usage_locked
from tally.metering.domain import Aggregation, MeterDefinition
from tally.metering.event_store import LIVE_EVENT_COLUMNS, EventRecord, LiveEvent, event_record, live_event
from tally.metering.meter_events import meter_changed
from tally.metering.store import (
    StoredMeter,
    closed_periods,
    event_audit,
    events,
    meter_columns,
    meter_from_row,
    meters,
    rollups,
    unique_values,
)
from tally.persistence import outbox

_EVENTS_PER_PAGE = 5_000
_ROWS_PER_INSERT = 1_000


class CorrectionStore:
    """Opens the transactions corrections run in."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @contextmanager
    def locked(self) -> Iterator[LockedUsage]:
        """A transaction holding the usage lock (``lock_usage``): no recording commits beside it."""
        with usage_locked(self._engine) as conn:
            yield LockedUsage(conn)


class LockedUsage:
    """What a correction reads and writes in its transaction, under the usage lock."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    # -- meters

    def meter(self, meter_id: str) -> StoredMeter | None:
        row = self._conn.execute(select(meters).where(meters.c.id == meter_id)).mappings().first()
        return None if row is None else meter_from_row(row)

    def meters_of(self, event_type: str) -> list[StoredMeter]:
        """The meters reading events of ``event_type``."""
        found = self._conn.execute(select(meters).where(meters.c.event_type == event_type)).mappings()
        return [meter_from_row(row) for row in found]

    def change_meter(self, meter_id: str, definition: MeterDefinition, now: datetime) -> None:
        """Store the meter's new definition, updated at ``now``, and enqueue its MeterChanged."""
        self._conn.execute(
            update(meters).where(meters.c.id == meter_id).values(**meter_columns(definition), updated_at=now)
        )
        outbox.enqueue(self._conn, *meter_changed(meter_id, definition, now))

    def customers(self, meter: StoredMeter) -> list[str]:
        """Customers with events the meter may select or with rollups of it (stale ones get cleared)."""
        with_events = select(events.c.customer).where(events.c.event_type == meter.definition.event_type)
        with_rollups = select(rollups.c.customer).where(rollups.c.meter_id == meter.id)
        return sorted(self._conn.execute(with_events.union(with_rollups)).scalars())

    # -- rollups

    def clear_rollups(self, meter_id: str, customer: str | None = None, hour_ms: int | None = None) -> None:
        """Delete the meter's rollups and distinct values (of one customer, of one hour)."""
        for table in (rollups, unique_values):
            condition = table.c.meter_id == meter_id
            if customer is not None:
                condition = and_(condition, table.c.customer == customer)
            if hour_ms is not None:
                condition = and_(condition, table.c.hour_ms == hour_ms)
            self._conn.execute(delete(table).where(condition))

    def rollup_writer(self) -> RollupWriter:
        return RollupWriter(self._conn)

    # -- events

    def live_events_in_hour(self, customer: str, event_type: str, hour_ms: int) -> list[LiveEvent]:
        """The customer's live events of ``event_type`` in the hour starting at ``hour_ms``."""
        found = self._conn.execute(
            select(*LIVE_EVENT_COLUMNS).where(
                events.c.customer == customer,
                events.c.event_type == event_type,
                events.c.timestamp_ms >= hour_ms,
                events.c.timestamp_ms < hour_ms + HOUR_MS,
                events.c.voided == false(),
            )
        )
        return [live_event(row) for row in found]

    def live_events(self, customer: str, event_type: str) -> Iterator[LiveEvent]:
        """The customer's live events of ``event_type`` by time then arrival, read a page at a time (the next
        page once this one is consumed)."""
        last: tuple[int, int] | None = None
        while True:
            page = (
                select(*LIVE_EVENT_COLUMNS)
                .where(
                    events.c.customer == customer,
                    events.c.event_type == event_type,
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
            rows = self._conn.execute(page).all()
            for row in rows:
                yield live_event(row)
            if len(rows) < _EVENTS_PER_PAGE:
                return
            last = (rows[-1].timestamp_ms, rows[-1].id)

    def event(self, producer_id: str, event_id: str) -> EventRecord | None:
        row = self._conn.execute(select(events).where(_this_event(producer_id, event_id))).first()
        return None if row is None else event_record(row)

    def void(self, producer_id: str, event_id: str) -> EventRecord:
        """Void the event; it, voided."""
        return self._change(producer_id, event_id, {"voided": True})

    def amend(self, producer_id: str, event_id: str, properties_json: str, payload_hash: str) -> EventRecord:
        """Give the event new properties (canonical JSON) and their payload fingerprint; it, amended."""
        changes = {"properties": properties_json, "payload_hash": payload_hash, "amended": True}
        return self._change(producer_id, event_id, changes)

    def _change(self, producer_id: str, event_id: str, changes: Mapping[str, Any]) -> EventRecord:
        this_event = _this_event(producer_id, event_id)
        self._conn.execute(update(events).where(this_event).values(**changes))
        return event_record(self._conn.execute(select(events).where(this_event)).one())

    def audit(
        self,
        producer_id: str,
        event_id: str,
        action: str,
        before: EventRecord,
        after: EventRecord,
        *,
        reason: str,
        actor: str,
        at_ms: int,
    ) -> int:
        """Keep the correction of one event in the audit trail; the audit entry's id."""
        id_: int = self._conn.execute(
            insert(event_audit)
            .values(
                producer_id=producer_id,
                event_id=event_id,
                action=action,
                before_payload=_payload(before),
                after_payload=_payload(after),
                reason=reason,
                actor=actor,
                at_ms=at_ms,
            )
            .returning(event_audit.c.id)
        ).scalar_one()
        return id_

    def closed_until(self, customer: str) -> int | None:
        """Where the customer's closed period ends (ms), if it has one."""
        found: int | None = self._conn.execute(
            select(closed_periods.c.closed_until_ms).where(closed_periods.c.customer == customer)
        ).scalar()
        return found

    def enqueue(self, subject: str, payload: bytes, message_id: str) -> None:
        """Publish ``payload`` on ``subject`` once this transaction commits (the outbox)."""
        outbox.enqueue(self._conn, subject, payload, message_id)


class RollupWriter:
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


def _this_event(producer_id: str, event_id: str) -> Any:
    # By the unique key, not `id`: on PostgreSQL `id` has no index of its own (migration 0003).
    return and_(events.c.producer_id == producer_id, events.c.event_id == event_id)


def _payload(record: EventRecord) -> str:
    """An event as its audit trail keeps it."""
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
