"""The hot path: store delivered batches' new events and fold them into hourly rollups, in one transaction.

Two stages, so the consumer can overlap them (handlers.py): ``prepare`` needs no database (rows, payload
fingerprints, repeats within the fetch and an optimistic rollup fold), and ``write`` holds the transaction only
for what does. Kept off the ORM (docs/performance.md). On SQLite the write lock is taken first (``BEGIN IMMEDIATE``), so
"look up the ids already stored, then insert the rest" is exact, and every statement is a single step: the
sqlite3 module releases the GIL around each step and must win it back afterwards, which costs up to a thread
switch interval while the preparing thread runs, so a statement that steps once per row would crawl. On
PostgreSQL all of a fetch's rows go through one COPY into a staging table and one INSERT … ON CONFLICT DO
NOTHING RETURNING, which stays exact with other replicas writing beside it.

The service's recorder keeps one SQLite connection for its writes (``keep_connection``) with a large page cache.
SQLite drops a connection's cache whenever another connection wrote, so only a connection that does all the
writing keeps the hot index pages between transactions; and the customer/time index takes each event at a
random place, so a transaction that spills pages from a small cache writes them twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal
from json.encoder import encode_basestring_ascii
from typing import Any, NamedTuple, TypeVar

from opentelemetry.context import Context
from sqlalchemy import Connection, Engine, select

from tally.metering.aggregation import Bucket
from tally.metering.late_usage import announce_late
from tally.metering.quarantine import Unappliable, why_unappliable
from tally.metering.rollup_fold import FoldedEvent, RollupDelta, RollupFold, RollupKey
from tally.metering.store import StoredMeter, closed_periods, meters_in_force

_log = logging.getLogger(__name__)
_T = TypeVar("_T")

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
    "recorded_at_ms",
)
_HASH = EVENT_COLUMNS.index("payload_hash")
_SQLITE_WRITER_CACHE_KIB = 64 * 1024
"""Page cache of the kept SQLite writer connection (SQLite's default is 2 MiB)."""
_SQLITE_ROWS_PER_STATEMENT = 1024
"""Multi-row statements on SQLite take this many rows, then halves for the rest (see ``_shaped_chunks``)."""
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
_POSTGRES_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS events_staging (producer_id text, event_id text, customer text, "
    "event_type text, timestamp_ms bigint, properties text, batch_id text, received_at_ms bigint, "
    "payload_hash text, late boolean, recorded_at_ms bigint) ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS rollups_staging (meter_id text, customer text, group_key text, "
    "hour_ms bigint, count bigint, sum numeric, min numeric, max numeric, latest_ts_ms bigint, "
    "latest_event_id text, latest_value numeric, weighted_ts numeric) ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS unique_values_staging (meter_id text, customer text, group_key text, "
    "hour_ms bigint, value text) ON COMMIT DELETE ROWS"
)


class IncomingEvent(NamedTuple):
    """One event of a delivered batch, as the recorder needs it."""

    event_id: str
    customer: str
    event_type: str
    timestamp_ms: int
    properties: Mapping[str, str]


@dataclass(frozen=True)
class IncomingBatch:
    """One delivered ``UsageBatchAccepted``; its events may be the decoded wire messages themselves."""

    producer_id: str
    batch_id: str
    received_at_ms: int
    events: Sequence[FoldedEvent]
    context: Context | None = None
    """The trace context the delivery carried: a UsageLate this batch causes continues that trace (the
    writer thread, where the batch is stored, has no span of its own)."""


@dataclass(frozen=True)
class RecordOutcome:
    """What a batch changed: new events, repeats of known events, and repeats whose payload differs."""

    inserted: int
    duplicates: int
    conflicts: int
    late: int
    quarantined: int = 0
    """Events newly set aside because metering cannot apply them (quarantine.py); a redelivery adds none."""


def properties_json(properties: Mapping[str, str]) -> str:
    """Canonical text of an event's properties: exactly ``json.dumps(sort_keys=True, separators=(",", ":"))``
    (stored fingerprints depend on it), built with the C string escaper and no encoder object per event."""
    if not properties:
        return "{}"
    quote = encode_basestring_ascii
    return "{" + ",".join([quote(name) + ":" + quote(properties[name]) for name in sorted(properties)]) + "}"


def payload_hash(event: FoldedEvent, properties_json: str) -> str:
    """Fingerprint of what an event says; the same id with another fingerprint is a conflict."""
    text = f"{event.customer}\x1f{event.event_type}\x1f{event.timestamp_ms}\x1f{properties_json}"
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


@dataclass(slots=True)
class PreparedBatch:
    """One batch made ready for the database: the first occurrence of each id in the fetch, as rows."""

    batch: IncomingBatch
    distinct: list[FoldedEvent]
    rows: list[tuple[Any, ...]]
    """One per ``distinct`` event, in EVENT_COLUMNS order; ``late`` is settled in the transaction."""
    repeated: list[tuple[FoldedEvent, str]]
    """Events whose id came earlier in this fetch (this batch or an earlier one), with their fingerprint."""
    quarantined: list[tuple[FoldedEvent, Unappliable]] = field(default_factory=list)
    """Events metering cannot apply, with why: stored in ``quarantined_events``, never in ``events``."""


@dataclass(slots=True)
class PreparedUsage:
    """A fetch made ready for ``write``: its batches, and the fold of all their events under ``fold``."""

    batches: list[PreparedBatch]
    first_hashes: dict[tuple[str, str], str]
    """Fingerprint of the first occurrence of each (producer, event id) in the fetch."""
    fold: RollupFold | None
    delta: RollupDelta | None
    """Every distinct event folded, valid if ``fold`` is still the meters in force and none was stored before."""
    customers: set[str] = field(default_factory=set)


class UsageRecording:
    """Records usage batches exactly once per (producer, event id), keeping rollups equal to raw events."""

    def __init__(
        self, engine: Engine, *, keep_connection: bool = False, clock: Callable[[], float] = time.time
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._postgres = engine.dialect.name == "postgresql"
        self._fold: RollupFold | None = None
        # PostgreSQL keeps its cache in the server: pooled connections (with pre-ping) serve as well there.
        self._keep = keep_connection and not self._postgres
        self._kept: Connection | None = None
        self._kept_lock = threading.Lock()

    def close(self) -> None:
        """Return the kept writer connection, if any (the next write opens another)."""
        with self._kept_lock:
            if self._kept is not None:
                self._kept.close()
                self._kept = None

    def record(
        self,
        producer_id: str,
        batch_id: str,
        received_at_ms: int,
        events: Sequence[FoldedEvent],
    ) -> RecordOutcome:
        return self.record_batches([IncomingBatch(producer_id, batch_id, received_at_ms, events)])[0]

    def record_batches(self, batches: Sequence[IncomingBatch]) -> list[RecordOutcome]:
        """Record several delivered batches in one transaction (one commit), each deduplicated on its own."""
        return self.write(self.prepare(batches))

    # -- stage 1: no database --------------------------------------------------------------------------
    def prepare(self, batches: Sequence[IncomingBatch]) -> PreparedUsage:
        """Rows, fingerprints and repeats of ``batches``, and their fold under the meters last seen in force.

        Touches no database and no shared state but one read of the last fold, so it may run in any thread
        while the previous fetch is being written.
        """
        first: dict[tuple[str, str], str] = {}
        prepared: list[PreparedBatch] = []
        customers: set[str] = set()
        recorded_at_ms = int(self._clock() * 1000)  # commits follow within the fetch's write
        seen_by_producer: dict[str, dict[str, str]] = {}
        for batch in batches:
            producer_id, batch_id, received_at_ms = batch.producer_id, batch.batch_id, batch.received_at_ms
            seen = seen_by_producer.setdefault(producer_id, {})
            distinct: list[FoldedEvent] = []
            rows: list[tuple[Any, ...]] = []
            repeated: list[tuple[FoldedEvent, str]] = []
            quarantined: list[tuple[FoldedEvent, Unappliable]] = []
            for event in batch.events:
                event_id, customer, timestamp_ms = event.event_id, event.customer, event.timestamp_ms
                text = properties_json(event.properties)
                problem = why_unappliable(event_id, customer, event.event_type, event.properties, text)
                if problem is not None:
                    quarantined.append((event, problem))
                    continue
                fingerprint = hashlib.blake2b(
                    f"{customer}\x1f{event.event_type}\x1f{timestamp_ms}\x1f{text}".encode(), digest_size=16
                ).hexdigest()
                if event_id in seen:
                    repeated.append((event, fingerprint))
                    continue
                seen[event_id] = fingerprint
                distinct.append(event)
                rows.append(
                    (
                        producer_id,
                        event_id,
                        customer,
                        event.event_type,
                        timestamp_ms,
                        text,
                        batch_id,
                        received_at_ms,
                        fingerprint,
                        False,
                        recorded_at_ms,
                    )
                )
            for row in rows:
                customers.add(row[2])
            prepared.append(PreparedBatch(batch, distinct, rows, repeated, quarantined))
        for producer_id, seen in seen_by_producer.items():
            for event_id, fingerprint in seen.items():
                first[(producer_id, event_id)] = fingerprint
        fold = self._fold
        delta = None
        if fold is not None:
            delta = RollupDelta()
            for batch_rows in prepared:
                fold.fold(batch_rows.distinct, delta)
        return PreparedUsage(prepared, first, fold, delta, customers)

    # -- stage 2: one transaction ----------------------------------------------------------------------
    def write_many(self, parts: Sequence[PreparedUsage]) -> list[list[RecordOutcome]]:
        """Store several prepared fetches in one transaction (one commit); the outcomes of each, in order."""
        outcomes = self.write(combine(parts))
        split: list[list[RecordOutcome]] = []
        start = 0
        for part in parts:
            split.append(outcomes[start : start + len(part.batches)])
            start += len(part.batches)
        return split

    def write(self, prepared: PreparedUsage) -> list[RecordOutcome]:
        """Store what ``prepare`` made ready, in one transaction; the caller acks only after this returns."""
        with self._transaction() as conn:
            cursor = _cursor(conn)
            if self._postgres:
                cursor.execute(_POSTGRES_STAGING)
            else:
                # The write lock first: what the lookups below see stays true until commit.
                cursor.execute("BEGIN IMMEDIATE")
            defined = self._meters(conn)
            fold = self._fold_for(defined)
            if self._postgres:
                existing = self._store_events_postgres(cursor, prepared)
            else:
                existing = self._store_events_sqlite(cursor, prepared)
            # Closed periods are read only now, with the events inserted: on PostgreSQL the insert holds the
            # lock a closing waits for (closing.py), so either that closing sweeps these events or this read
            # sees it. On SQLite the write lock, taken first, orders the two anyway.
            closed = self._closed_until(conn, prepared.customers)
            if closed:
                self._flag_late(cursor, prepared, closed, existing)
            set_aside = [self._quarantine(cursor, batch) for batch in prepared.batches]
            outcomes = []
            new_events: list[FoldedEvent] = []
            for batch, quarantined in zip(prepared.batches, set_aside, strict=True):
                outcome, fresh = self._settle_batch(conn, defined, closed, prepared, batch, existing)
                outcomes.append(replace(outcome, quarantined=quarantined) if quarantined else outcome)
                new_events.extend(fresh)
            if prepared.delta is not None and prepared.fold is fold and not existing:
                delta = prepared.delta
            else:
                delta = fold.fold(new_events)
            if delta.buckets:
                if self._postgres:
                    self._upsert_rollups_postgres(cursor, delta.buckets)
                else:
                    self._upsert_rollups_sqlite(cursor, delta.buckets)
            if delta.uniques:
                self._insert_unique_values(cursor, sorted(delta.uniques))
        return outcomes

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        if not self._keep:
            with self._engine.begin() as conn:
                yield conn
            return
        with self._kept_lock:
            if self._kept is None:
                self._kept = self._engine.connect()
                self._kept.exec_driver_sql(f"PRAGMA cache_size=-{_SQLITE_WRITER_CACHE_KIB}")
                self._kept.commit()
            with self._kept.begin():
                yield self._kept

    def _fold_for(self, defined: list[StoredMeter]) -> RollupFold:
        meters_in_force = tuple((meter.id, meter.definition) for meter in defined)
        fold = self._fold
        if fold is None or fold.meters != meters_in_force:
            fold = self._fold = RollupFold(meters_in_force)
        return fold

    def _settle_batch(
        self,
        conn: Connection,
        defined: list[StoredMeter],
        closed: dict[str, int],
        prepared: PreparedUsage,
        batch: PreparedBatch,
        existing: dict[tuple[str, str], str],
    ) -> tuple[RecordOutcome, list[FoldedEvent]]:
        producer_id = batch.batch.producer_id
        repeats = list(batch.repeated)
        if existing:
            new_events = []
            for event, row in zip(batch.distinct, batch.rows, strict=True):
                if (producer_id, event.event_id) in existing:
                    repeats.append((event, row[_HASH]))
                else:
                    new_events.append(event)
        else:
            new_events = batch.distinct
        conflicts = 0
        if repeats:
            conflicts = self._record_conflicts(
                conn, producer_id, batch.batch.batch_id, repeats, existing, prepared.first_hashes
            )
        late = (
            [event for event in new_events if event.timestamp_ms < closed.get(event.customer, 0)]
            if closed
            else []
        )
        if late:
            announce_late(
                conn,
                defined,
                producer_id,
                batch.batch.batch_id,
                batch.batch.received_at_ms,
                late,
                context=batch.batch.context,
            )
        outcome = RecordOutcome(
            inserted=len(new_events),
            duplicates=len(batch.batch.events) - len(new_events) - len(batch.quarantined),
            conflicts=conflicts,
            late=len(late),
        )
        return outcome, new_events

    # -- raw events ------------------------------------------------------------------------------------
    def _quarantine(self, cursor: Any, batch: PreparedBatch) -> int:
        """Store the batch's events metering cannot apply, with their reason (once per producer and event id:
        a redelivery sets nothing aside again); how many were newly set aside."""
        if not batch.quarantined:
            return 0
        now_ms = int(self._clock() * 1000)
        marker = "%s" if self._postgres else "?"
        added = 0
        for event, problem in batch.quarantined:
            payload = json.dumps(
                {
                    "customer": event.customer,
                    "event_type": event.event_type,
                    "timestamp_ms": event.timestamp_ms,
                    "properties": dict(event.properties),
                },
                sort_keys=True,
            )
            cursor.execute(
                "INSERT INTO quarantined_events (producer_id, event_id, batch_id, payload, field, reason, "
                f"quarantined_at_ms) VALUES ({','.join([marker] * 7)}) "
                "ON CONFLICT (producer_id, event_id) DO NOTHING",
                (
                    batch.batch.producer_id,
                    _storable(event.event_id),
                    batch.batch.batch_id,
                    payload,
                    problem.field,
                    problem.reason,
                    now_ms,
                ),
            )
            added += cursor.rowcount
        if not added:
            return 0
        _log.warning(
            "batch %s from %s: %d event(s) metering cannot apply set aside (first: %s %s); the rest is recorded",
            batch.batch.batch_id,
            batch.batch.producer_id,
            added,
            batch.quarantined[0][1].field,
            batch.quarantined[0][1].reason,
        )
        return added

    def _store_events_sqlite(self, cursor: Any, prepared: PreparedUsage) -> dict[tuple[str, str], str]:
        """Insert the events not stored yet; returns the fingerprints of those that were."""
        ids_by_producer: dict[str, list[str]] = {}
        for batch in prepared.batches:
            ids_by_producer.setdefault(batch.batch.producer_id, []).extend(row[1] for row in batch.rows)
        existing: dict[tuple[str, str], str] = {}
        for producer_id, ids in ids_by_producer.items():
            # One row back (a JSON array) rather than one step per stored id.
            cursor.execute(
                "SELECT json_group_array(json_array(event_id, payload_hash)) FROM events "
                "WHERE producer_id = ? AND event_id IN (SELECT value FROM json_each(?))",
                (producer_id, json.dumps(ids)),
            )
            for event_id, fingerprint in json.loads(cursor.fetchone()[0]):
                existing[(producer_id, event_id)] = fingerprint
        rows = [
            row
            for batch in prepared.batches
            for row in batch.rows
            if not existing or (row[0], row[1]) not in existing
        ]
        placeholder = "(" + ",".join("?" * len(EVENT_COLUMNS)) + ")"
        for new_rows in _shaped_chunks(rows):
            # No ON CONFLICT: under the write lock the lookup above is exact, and a surprise should fail loudly.
            cursor.execute(
                f"INSERT INTO events ({','.join(EVENT_COLUMNS)}) VALUES {','.join([placeholder] * len(new_rows))}",
                [value for row in new_rows for value in row],
            )
        return existing

    def _store_events_postgres(self, cursor: Any, prepared: PreparedUsage) -> dict[tuple[str, str], str]:
        """One COPY and one INSERT for the whole fetch; returns the fingerprints of events stored before."""
        with cursor.copy(f"COPY events_staging ({','.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
            for batch in prepared.batches:
                for row in batch.rows:
                    copy.write_row(row)
        cursor.execute(
            f"INSERT INTO events ({','.join(EVENT_COLUMNS)}) "
            f"SELECT {','.join(EVENT_COLUMNS)} FROM events_staging "
            "ON CONFLICT (producer_id, event_id) DO NOTHING RETURNING producer_id, event_id"
        )
        inserted = set(cursor.fetchall())
        total = sum(len(batch.rows) for batch in prepared.batches)
        if len(inserted) == total:
            return {}
        missing: dict[str, list[str]] = {}
        for batch in prepared.batches:
            for row in batch.rows:
                if (row[0], row[1]) not in inserted:
                    missing.setdefault(row[0], []).append(row[1])
        existing: dict[tuple[str, str], str] = {}
        for producer_id, ids in missing.items():
            cursor.execute(
                "SELECT event_id, payload_hash FROM events WHERE producer_id = %s AND event_id = ANY(%s)",
                (producer_id, ids),
            )
            for event_id, fingerprint in cursor.fetchall():
                existing[(producer_id, event_id)] = fingerprint
        return existing

    def _flag_late(
        self,
        cursor: Any,
        prepared: PreparedUsage,
        closed: dict[str, int],
        existing: dict[tuple[str, str], str],
    ) -> None:
        """Flag the events just stored whose time is before their customer's closed period (rare: one UPDATE
        per producer, only when there are such events)."""
        late: dict[str, list[str]] = {}
        for batch in prepared.batches:
            for row in batch.rows:
                if row[4] < closed.get(row[2], 0) and (row[0], row[1]) not in existing:
                    late.setdefault(row[0], []).append(row[1])
        for producer_id, event_ids in late.items():
            if self._postgres:
                cursor.execute(
                    "UPDATE events SET late = true WHERE producer_id = %s AND event_id = ANY(%s)",
                    (producer_id, event_ids),
                )
                continue
            for chunk in _shaped_chunks(event_ids):
                cursor.execute(
                    f"UPDATE events SET late = 1 WHERE producer_id = ? AND event_id IN ({','.join('?' * len(chunk))})",
                    [producer_id, *chunk],
                )

    # -- rollups ---------------------------------------------------------------------------------------
    @staticmethod
    def _meters(conn: Connection) -> list[StoredMeter]:
        # Read in the recording transaction, so a meter created concurrently is either seen here or its
        # backfill sees these events: never neither.
        return meters_in_force(conn)

    def _insert_unique_values(self, cursor: Any, rows: list[tuple[str, str, str, int, str]]) -> None:
        columns = "meter_id, customer, group_key, hour_ms, value"
        if not self._postgres:
            for chunk in _shaped_chunks(rows):
                cursor.execute(
                    f"INSERT INTO unique_values ({columns}) VALUES {','.join(['(?,?,?,?,?)'] * len(chunk))} "
                    "ON CONFLICT DO NOTHING",
                    [value for row in chunk for value in row],
                )
            return
        with cursor.copy(f"COPY unique_values_staging ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO unique_values ({columns}) SELECT {columns} FROM unique_values_staging ON CONFLICT DO NOTHING"
        )

    @staticmethod
    def _row(key: RollupKey, bucket: Bucket, decimal: Any) -> tuple[Any, ...]:
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

    def _upsert_rollups_postgres(self, cursor: Any, buckets: dict[RollupKey, Bucket]) -> None:
        # One COPY and one statement however many buckets a fetch touched; the upsert is atomic in the
        # database, so replicas folding into the same hour never lose each other's counts. Sorted, so two
        # writers lock shared rollup rows in the same order.
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

    def _upsert_rollups_sqlite(self, cursor: Any, buckets: dict[RollupKey, Bucket]) -> None:
        # A bucket with no numeric contribution (COUNT, UNIQUE_COUNT) only adds to `count`, which SQLite
        # adds exactly itself; numeric buckets carry decimals SQLite cannot add, so those are merged here.
        # The write lock is held since BEGIN IMMEDIATE, so nothing changes these rows between read and write.
        counts = [key for key, bucket in buckets.items() if bucket.latest_ts_ms is None]
        numeric = [key for key, bucket in buckets.items() if bucket.latest_ts_ms is not None]
        count_row = "(?,?,?,?,?,'0',NULL,NULL,NULL,'',NULL,'0')"
        for chunk in _shaped_chunks(counts):
            cursor.execute(
                f"INSERT INTO rollups ({','.join(_ROLLUP_COLUMNS)}) VALUES {','.join([count_row] * len(chunk))} "
                "ON CONFLICT (meter_id, customer, group_key, hour_ms) DO UPDATE SET count = count + excluded.count",
                [part for key in chunk for part in (*key, buckets[key].count)],
            )
        if not numeric:
            return
        numeric.sort()
        for chunk in _shaped_chunks(numeric):
            cursor.execute(
                f"SELECT json_group_array(json_array({','.join(_ROLLUP_COLUMNS)})) FROM rollups "
                f"WHERE (meter_id, customer, group_key, hour_ms) IN (VALUES {','.join(['(?,?,?,?)'] * len(chunk))})",
                [part for key in chunk for part in key],
            )
            for row in json.loads(cursor.fetchone()[0]):
                key = (row[0], row[1], row[2], row[3])
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
                stored.merge(buckets[key])
                buckets[key] = stored
        placeholder = "(" + ",".join("?" * len(_ROLLUP_COLUMNS)) + ")"
        for chunk in _shaped_chunks(numeric):
            cursor.execute(
                f"INSERT OR REPLACE INTO rollups ({','.join(_ROLLUP_COLUMNS)}) VALUES "
                f"{','.join([placeholder] * len(chunk))}",
                [value for key in chunk for value in self._row(key, buckets[key], _decimal_text)],
            )

    # -- conflicts and late usage ----------------------------------------------------------------------
    @staticmethod
    def _closed_until(conn: Connection, customers: set[str]) -> dict[str, int]:
        if not customers:
            return {}
        ordered = sorted(customers)
        found: dict[str, int] = {}
        for start in range(0, len(ordered), 5_000):
            query = select(closed_periods).where(
                closed_periods.c.customer.in_(ordered[start : start + 5_000])
            )
            found.update((row.customer, row.closed_until_ms) for row in conn.execute(query))
        return found

    def _record_conflicts(
        self,
        conn: Connection,
        producer_id: str,
        batch_id: str,
        repeats: list[tuple[FoldedEvent, str]],
        existing: dict[tuple[str, str], str],
        first_hashes: dict[tuple[str, str], str],
    ) -> int:
        # What is stored for an id now: what was there before this fetch, else its first occurrence in it.
        conflicting = []
        for event, fingerprint in repeats:
            key = (producer_id, event.event_id)
            stored = existing.get(key) or first_hashes[key]
            if stored != fingerprint:
                conflicting.append((event, stored))
        if not conflicting:
            return 0
        marker = "%s" if self._postgres else "?"
        detected_at_ms = int(self._clock() * 1000)
        _cursor(conn).executemany(
            "INSERT INTO event_conflicts (producer_id, event_id, batch_id, stored_hash, received_payload, detected_at_ms) "
            f"VALUES ({','.join([marker] * 6)})",
            [
                (
                    producer_id,
                    event.event_id,
                    batch_id,
                    stored,
                    json.dumps(
                        {
                            "customer": event.customer,
                            "event_type": event.event_type,
                            "timestamp_ms": event.timestamp_ms,
                            "properties": dict(event.properties),
                        },
                        sort_keys=True,
                    ),
                    detected_at_ms,
                )
                for event, stored in conflicting
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


def combine(parts: Sequence[PreparedUsage]) -> PreparedUsage:
    """Fetches prepared apart, as one: an id first seen in an earlier fetch is a repeat in a later one.

    The parts are left as they were (the batches are new wrappers), so each can still be written alone.
    """
    if len(parts) == 1:
        return parts[0]
    first: dict[tuple[str, str], str] = {}
    batches: list[PreparedBatch] = []
    customers: set[str] = set()
    crossed = False
    for part in parts:
        for prepared in part.batches:
            producer_id = prepared.batch.producer_id
            if not first or not any((producer_id, row[1]) in first for row in prepared.rows):
                batches.append(
                    PreparedBatch(
                        prepared.batch,
                        prepared.distinct,
                        prepared.rows,
                        prepared.repeated,
                        prepared.quarantined,
                    )
                )
                continue
            crossed = True
            distinct: list[FoldedEvent] = []
            rows: list[tuple[Any, ...]] = []
            repeated = list(prepared.repeated)
            for event, row in zip(prepared.distinct, prepared.rows, strict=True):
                if (producer_id, row[1]) in first:
                    repeated.append((event, row[_HASH]))
                else:
                    distinct.append(event)
                    rows.append(row)
            batches.append(PreparedBatch(prepared.batch, distinct, rows, repeated, prepared.quarantined))
        for key, fingerprint in part.first_hashes.items():
            first.setdefault(key, fingerprint)
        customers |= part.customers
    fold = parts[0].fold
    delta: RollupDelta | None = None
    if not crossed and fold is not None and all(p.fold is fold and p.delta is not None for p in parts):
        delta = RollupDelta()
        for part in parts:
            assert part.delta is not None
            for rollup, bucket in part.delta.buckets.items():
                mine = delta.buckets.get(rollup)
                if mine is None:
                    delta.buckets[rollup] = replace(bucket, uniques=set(bucket.uniques))
                else:
                    mine.merge(bucket)
            delta.uniques |= part.delta.uniques
    return PreparedUsage(batches, first, fold if delta is not None else None, delta, customers)


def _shaped_chunks(items: Sequence[_T]) -> Iterator[Sequence[_T]]:
    """``items`` in chunks of _SQLITE_ROWS_PER_STATEMENT, then of the powers of two that make up the rest.

    The sqlite3 module keeps each connection's last 128 statements prepared, and a prepared multi-row
    statement is large: one text per possible length let the cache grow the process by hundreds of MB.
    With these shapes there are only eleven lengths per statement.
    """
    start, size = 0, _SQLITE_ROWS_PER_STATEMENT
    while start < len(items):
        while size > len(items) - start:
            size //= 2
        yield items[start : start + size]
        start += size


def _storable(text: str) -> str:
    """``text`` as a text column can hold it: NUL written as ``\\x00``."""
    return text.replace("\x00", "\\x00")


def _decimal_text(value: Decimal) -> str:
    return format(value, "f")


def _cursor(conn: Connection) -> Any:
    """The driver's own cursor: the hot path skips SQLAlchemy's statement layer (docs/performance.md)."""
    return conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
