"""The hot path: store a delivered batch's new events and fold them into hourly rollups, in one transaction.

Kept off the ORM (PERF.md): one multi-row INSERT (SQLite) or a COPY into a staging table (PostgreSQL) per
batch, RETURNING only the rows that were new, then one rollup upsert per touched (meter, customer, group, hour).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, select

from tally.api.metering.v1 import events_pb2 as metering_events
from tally.mesh import streams
from tally.metering.aggregation import NULL_GROUP, Bucket, contribution, hour_of
from tally.metering.domain import Aggregation
from tally.metering.store import StoredMeter, closed_periods, meter_from_row, meters
from tally.persistence import outbox

_log = logging.getLogger(__name__)

EVENT_COLUMNS = (
    "producer_id",
    "event_id",
    "customer",
    "event_type",
    "timestamp_ms",
    "properties",
    "batch_id",
    "received_at_ms",
    "payload_hash",
    "late",
)
_SQLITE_ROWS_PER_INSERT = 2000  # 2000 rows × 10 columns stays under SQLite's 32766 bound parameters
_ROLLUP_COLUMNS = (
    "meter_id",
    "customer",
    "group_key",
    "hour_ms",
    "count",
    "sum",
    "min",
    "max",
    "latest_ts_ms",
    "latest_event_id",
    "latest_value",
    "weighted_ts",
)


@dataclass(frozen=True, slots=True)
class IncomingEvent:
    """One event of a delivered batch, as the recorder needs it."""

    event_id: str
    customer: str
    event_type: str
    timestamp_ms: int
    properties: dict[str, str]


@dataclass(frozen=True)
class IncomingBatch:
    """One delivered ``UsageBatchAccepted``."""

    producer_id: str
    batch_id: str
    received_at_ms: int
    events: Sequence[IncomingEvent]


@dataclass(frozen=True)
class RecordOutcome:
    """What a batch changed: new events, repeats of known events, and repeats whose payload differs."""

    inserted: int
    duplicates: int
    conflicts: int
    late: int


_PROPERTIES = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


def payload_hash(event: IncomingEvent, properties_json: str) -> str:
    """Fingerprint of what an event says; the same id with another fingerprint is a conflict."""
    text = f"{event.customer}\x1f{event.event_type}\x1f{event.timestamp_ms}\x1f{properties_json}"
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


class UsageRecording:
    """Records usage batches exactly once per (producer, event id), keeping rollups equal to raw events."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"

    def record(
        self,
        producer_id: str,
        batch_id: str,
        received_at_ms: int,
        events: Sequence[IncomingEvent],
    ) -> RecordOutcome:
        return self.record_batches([IncomingBatch(producer_id, batch_id, received_at_ms, events)])[0]

    def record_batches(self, batches: Sequence[IncomingBatch]) -> list[RecordOutcome]:
        """Record several delivered batches in one transaction (one commit), each deduplicated on its own."""
        with self._engine.begin() as conn:
            defined = self._meters(conn)
            customers = {event.customer for batch in batches for event in batch.events}
            closed = self._closed_until(conn, customers)
            outcomes = []
            new_events: list[IncomingEvent] = []
            for batch in batches:
                outcome, fresh = self._record_one(conn, defined, closed, batch)
                outcomes.append(outcome)
                new_events.extend(fresh)
            self._fold_into_rollups(conn, defined, new_events)
        return outcomes

    def _record_one(
        self, conn: Connection, defined: list[StoredMeter], closed: dict[str, int], batch: IncomingBatch
    ) -> tuple[RecordOutcome, list[IncomingEvent]]:
        rows: list[tuple[Any, ...]] = []
        by_id: dict[str, IncomingEvent] = {}
        hashes: dict[str, str] = {}
        repeated_in_batch: list[tuple[IncomingEvent, str]] = []
        for event in batch.events:
            properties_json = _PROPERTIES.encode(event.properties)
            fingerprint = payload_hash(event, properties_json)
            if event.event_id in by_id:
                repeated_in_batch.append((event, fingerprint))
                continue
            by_id[event.event_id] = event
            hashes[event.event_id] = fingerprint
            rows.append(
                (
                    batch.producer_id,
                    event.event_id,
                    event.customer,
                    event.event_type,
                    event.timestamp_ms,
                    properties_json,
                    batch.batch_id,
                    batch.received_at_ms,
                    fingerprint,
                    event.timestamp_ms < closed.get(event.customer, 0),
                )
            )
        inserted_ids = self._insert_events(conn, rows)
        new_events = [by_id[event_id] for event_id in inserted_ids]
        late = [event for event in new_events if event.timestamp_ms < closed.get(event.customer, 0)]
        repeats = [(by_id[event_id], hashes[event_id]) for event_id in by_id.keys() - set(inserted_ids)]
        conflicts = self._record_conflicts(
            conn, batch.producer_id, batch.batch_id, repeats + repeated_in_batch
        )
        if late:
            self._announce_late(conn, defined, batch.producer_id, batch.batch_id, batch.received_at_ms, late)
        outcome = RecordOutcome(
            inserted=len(new_events),
            duplicates=len(batch.events) - len(new_events),
            conflicts=conflicts,
            late=len(late),
        )
        return outcome, new_events

    # -- raw events ------------------------------------------------------------------------------------
    def _insert_events(self, conn: Connection, rows: list[tuple[Any, ...]]) -> list[str]:
        if not rows:
            return []
        if self._postgres:
            return self._copy_events(conn, rows)
        inserted: list[str] = []
        cursor = _cursor(conn)
        for start in range(0, len(rows), _SQLITE_ROWS_PER_INSERT):
            chunk = rows[start : start + _SQLITE_ROWS_PER_INSERT]
            placeholders = ",".join(["(?,?,?,?,?,?,?,?,?,?)"] * len(chunk))
            cursor.execute(
                f"INSERT INTO events ({','.join(EVENT_COLUMNS)}) VALUES {placeholders} "
                "ON CONFLICT (producer_id, event_id) DO NOTHING RETURNING event_id",
                [value for row in chunk for value in row],
            )
            inserted.extend(row[0] for row in cursor.fetchall())
        return inserted

    def _copy_events(self, conn: Connection, rows: list[tuple[Any, ...]]) -> list[str]:
        cursor = _cursor(conn)
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS events_staging ("
            "producer_id text, event_id text, customer text, event_type text, timestamp_ms bigint, "
            "properties text, batch_id text, received_at_ms bigint, payload_hash text, late boolean"
            ") ON COMMIT DELETE ROWS"
        )
        with cursor.copy(f"COPY events_staging ({','.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO events ({','.join(EVENT_COLUMNS)}) "
            f"SELECT {','.join(EVENT_COLUMNS)} FROM events_staging "
            "ON CONFLICT (producer_id, event_id) DO NOTHING RETURNING event_id"
        )
        return [row[0] for row in cursor.fetchall()]

    # -- rollups ---------------------------------------------------------------------------------------
    @staticmethod
    def _meters(conn: Connection) -> list[StoredMeter]:
        # Read in the recording transaction, so a meter created concurrently is either seen here or its
        # backfill sees these events: never neither.
        return [meter_from_row(row) for row in conn.execute(select(meters)).mappings()]

    def _fold_into_rollups(
        self, conn: Connection, defined: list[StoredMeter], new_events: list[IncomingEvent]
    ) -> None:
        if not defined or not new_events:
            return
        by_type: dict[str, list[tuple[StoredMeter, bool]]] = {}
        for meter in defined:
            definition = meter.definition
            # A plain event counter needs no contribution: every event of its type adds one to its hour.
            plain_count = (
                definition.aggregation is Aggregation.COUNT
                and not definition.filters
                and not definition.group_by
            )
            by_type.setdefault(definition.event_type, []).append((meter, plain_count))
        buckets: dict[tuple[str, str, str, int], Bucket] = {}
        uniques: set[tuple[str, str, str, int, str]] = set()
        for event in new_events:
            for meter, plain_count in by_type.get(event.event_type, ()):
                if plain_count:
                    key = (meter.id, event.customer, NULL_GROUP, hour_of(event.timestamp_ms))
                    bucket = buckets.get(key)
                    if bucket is None:
                        bucket = buckets[key] = Bucket()
                    bucket.count += 1
                    continue
                item = contribution(
                    meter.definition, event.event_type, event.properties, event.timestamp_ms, event.event_id
                )
                if item is None:
                    continue
                key = (meter.id, event.customer, item.group, hour_of(event.timestamp_ms))
                bucket = buckets.get(key)
                if bucket is None:
                    bucket = buckets[key] = Bucket()
                bucket.add(item)
                if meter.definition.aggregation is Aggregation.UNIQUE_COUNT and item.raw_value is not None:
                    uniques.add((*key, item.raw_value))
        if not buckets:
            return
        if self._postgres:
            self._upsert_rollups_postgres(conn, buckets)
        else:
            self._upsert_rollups_sqlite(conn, buckets)
        if uniques:
            self._insert_unique_values(conn, sorted(uniques))

    def _insert_unique_values(self, conn: Connection, rows: list[tuple[str, str, str, int, str]]) -> None:
        cursor = _cursor(conn)
        columns = "meter_id, customer, group_key, hour_ms, value"
        if not self._postgres:
            cursor.executemany(
                f"INSERT INTO unique_values ({columns}) VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING", rows
            )
            return
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS unique_values_staging (meter_id text, customer text, group_key text, "
            "hour_ms bigint, value text) ON COMMIT DELETE ROWS"
        )
        with cursor.copy(f"COPY unique_values_staging ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO unique_values ({columns}) SELECT {columns} FROM unique_values_staging ON CONFLICT DO NOTHING"
        )

    @staticmethod
    def _row(key: tuple[str, str, str, int], bucket: Bucket, decimal: Any) -> tuple[Any, ...]:
        return (
            *key,
            bucket.count,
            decimal(bucket.sum),
            None if bucket.min is None else decimal(bucket.min),
            None if bucket.max is None else decimal(bucket.max),
            bucket.latest_ts_ms,
            bucket.latest_event_id,
            None if bucket.latest_value is None else decimal(bucket.latest_value),
            decimal(bucket.weighted_ts),
        )

    def _upsert_rollups_postgres(
        self, conn: Connection, buckets: dict[tuple[str, str, str, int], Bucket]
    ) -> None:
        # One COPY and one statement however many buckets a batch touched; the upsert is atomic in the
        # database, so replicas folding into the same hour never lose each other's counts.
        cursor = _cursor(conn)
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS rollups_staging (meter_id text, customer text, group_key text, "
            "hour_ms bigint, count bigint, sum numeric, min numeric, max numeric, latest_ts_ms bigint, "
            "latest_event_id text, latest_value numeric, weighted_ts numeric) ON COMMIT DELETE ROWS"
        )
        with cursor.copy(f"COPY rollups_staging ({','.join(_ROLLUP_COLUMNS)}) FROM STDIN") as copy:
            for key, bucket in sorted(buckets.items()):
                copy.write_row(self._row(key, bucket, Decimal))
        newer = (
            "r.latest_ts_ms IS NULL OR (excluded.latest_ts_ms IS NOT NULL AND "
            "(excluded.latest_ts_ms, excluded.latest_event_id) > (r.latest_ts_ms, r.latest_event_id))"
        )
        cursor.execute(
            f"INSERT INTO rollups AS r ({','.join(_ROLLUP_COLUMNS)}) "
            f"SELECT {','.join(_ROLLUP_COLUMNS)} FROM rollups_staging "
            "ON CONFLICT (meter_id, customer, group_key, hour_ms) DO UPDATE SET "
            "count = r.count + excluded.count, sum = r.sum + excluded.sum, "
            "min = LEAST(r.min, excluded.min), max = GREATEST(r.max, excluded.max), "
            f"latest_value = CASE WHEN {newer} THEN excluded.latest_value ELSE r.latest_value END, "
            f"latest_event_id = CASE WHEN {newer} THEN excluded.latest_event_id ELSE r.latest_event_id END, "
            f"latest_ts_ms = CASE WHEN {newer} THEN excluded.latest_ts_ms ELSE r.latest_ts_ms END, "
            "weighted_ts = r.weighted_ts + excluded.weighted_ts"
        )

    def _upsert_rollups_sqlite(
        self, conn: Connection, buckets: dict[tuple[str, str, str, int], Bucket]
    ) -> None:
        # SQLite has no exact decimal arithmetic, so merge in Python. The events INSERT above already took
        # the database's write lock, so nothing changes these rows between the read and the write.
        cursor = _cursor(conn)
        keys = sorted(buckets)
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            cursor.execute(
                f"SELECT {','.join(_ROLLUP_COLUMNS)} FROM rollups "
                f"WHERE (meter_id, customer, group_key, hour_ms) IN (VALUES {','.join(['(?,?,?,?)'] * len(chunk))})",
                [part for key in chunk for part in key],
            )
            for row in cursor.fetchall():
                stored = Bucket(
                    count=row[4],
                    sum=Decimal(row[5]),
                    min=None if row[6] is None else Decimal(row[6]),
                    max=None if row[7] is None else Decimal(row[7]),
                    latest_ts_ms=row[8],
                    latest_event_id=row[9],
                    latest_value=None if row[10] is None else Decimal(row[10]),
                    weighted_ts=Decimal(row[11]),
                )
                stored.merge(buckets[(row[0], row[1], row[2], row[3])])
                buckets[(row[0], row[1], row[2], row[3])] = stored
        cursor.executemany(
            f"INSERT OR REPLACE INTO rollups ({','.join(_ROLLUP_COLUMNS)}) VALUES ({','.join(['?'] * 12)})",
            [self._row(key, buckets[key], _decimal_text) for key in keys],
        )

    # -- conflicts and late usage ----------------------------------------------------------------------
    @staticmethod
    def _closed_until(conn: Connection, customers: set[str]) -> dict[str, int]:
        if not customers:
            return {}
        query = select(closed_periods).where(closed_periods.c.customer.in_(sorted(customers)))
        return {row.customer: row.closed_until_ms for row in conn.execute(query)}

    def _record_conflicts(
        self,
        conn: Connection,
        producer_id: str,
        batch_id: str,
        repeats: list[tuple[IncomingEvent, str]],
    ) -> int:
        if not repeats:
            return 0
        cursor = _cursor(conn)
        marker = "%s" if self._postgres else "?"
        stored: dict[str, str] = {}
        ids = sorted({event.event_id for event, _ in repeats})
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            cursor.execute(
                f"SELECT event_id, payload_hash FROM events WHERE producer_id = {marker} "
                f"AND event_id IN ({','.join([marker] * len(chunk))})",
                [producer_id, *chunk],
            )
            stored.update(cursor.fetchall())
        conflicting = [
            (event, fingerprint)
            for event, fingerprint in repeats
            if stored.get(event.event_id) not in (None, fingerprint)
        ]
        if not conflicting:
            return 0
        received_at_ms = max(event.timestamp_ms for event, _ in conflicting)
        cursor.executemany(
            "INSERT INTO event_conflicts (producer_id, event_id, batch_id, stored_hash, received_payload, detected_at_ms) "
            f"VALUES ({','.join([marker] * 6)})",
            [
                (
                    producer_id,
                    event.event_id,
                    batch_id,
                    stored[event.event_id],
                    json.dumps(
                        {
                            "customer": event.customer,
                            "event_type": event.event_type,
                            "timestamp_ms": event.timestamp_ms,
                            "properties": event.properties,
                        },
                        sort_keys=True,
                    ),
                    received_at_ms,
                )
                for event, _ in conflicting
            ],
        )
        _log.warning(
            "batch %s from %s: %d event id(s) seen before with a different payload; kept the first, "
            "recorded the conflict",
            batch_id,
            producer_id,
            len(conflicting),
        )
        return len(conflicting)

    @staticmethod
    def _announce_late(
        conn: Connection,
        defined: list[StoredMeter],
        producer_id: str,
        batch_id: str,
        received_at_ms: int,
        late: list[IncomingEvent],
    ) -> None:
        by_customer: dict[str, list[IncomingEvent]] = {}
        for event in late:
            by_customer.setdefault(event.customer, []).append(event)
        for customer, events in sorted(by_customer.items()):
            touched = {
                meter.id
                for meter in defined
                for event in events
                if meter.definition.selects(event.event_type, event.properties)
            }
            message = metering_events.UsageLate(
                customer=customer,
                meter_ids=sorted(touched),
                producer_id=producer_id,
                event_ids=sorted(event.event_id for event in events),
                cause=metering_events.LATE_CAUSE_ARRIVED,
            )
            message.detected_at.FromMilliseconds(received_at_ms)
            message.period.start.FromMilliseconds(min(event.timestamp_ms for event in events))
            message.period.end.FromMilliseconds(max(event.timestamp_ms for event in events) + 1)
            outbox.enqueue(
                conn,
                streams.USAGE_LATE,
                message.SerializeToString(),
                f"usage-late:{producer_id}:{batch_id}:{customer}",
            )


def _decimal_text(value: Decimal) -> str:
    return format(value, "f")


def _cursor(conn: Connection) -> Any:
    """The driver's own cursor: the hot path skips SQLAlchemy's statement layer (PERF.md)."""
    return conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
