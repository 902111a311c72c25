"""The recorder's store on PostgreSQL: every batch of rows through one COPY into a staging table, then one
statement into the real table (INSERT … ON CONFLICT), which stays exact with other replicas writing beside it.

Connections come from the pool (with pre-ping): PostgreSQL keeps its cache in the server, so nothing is gained
by keeping one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal

from sqlalchemy import Connection

from tally.metering.aggregation import Bucket
from tally.metering.recording.rows import (
    EVENT_COLUMNS,
    ROLLUP_COLUMNS,
    UNIQUE_VALUE_COLUMNS,
    EventKey,
    NewEvent,
    RollupRow,
    UniqueValueRow,
)
from tally.metering.recording.writer import UsageWriter, driver_cursor
from tally.metering.rollup_fold import RollupKey

_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS events_staging (producer_id text, event_id text, customer text, "
    "event_type text, timestamp_ms bigint, properties text, batch_id text, received_at_ms bigint, "
    "payload_hash text, late boolean, recorded_at_ms bigint) ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS rollups_staging (meter_id text, customer text, group_key text, "
    "hour_ms bigint, count bigint, sum numeric, min numeric, max numeric, latest_ts_ms bigint, "
    "latest_event_id text, latest_value numeric, weighted_ts numeric) ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS unique_values_staging (meter_id text, customer text, group_key text, "
    "hour_ms bigint, value text) ON COMMIT DELETE ROWS"
)
"""Per-session staging tables, emptied at each commit; their columns are the rows' fields (rows.py)."""

_NEWER = (
    "r.latest_ts_ms IS NULL OR (excluded.latest_ts_ms IS NOT NULL AND "
    "(excluded.latest_ts_ms, excluded.latest_event_id) > (r.latest_ts_ms, r.latest_event_id))"
)
"""The incoming bucket's latest value is later than the stored one's (by time, then event id)."""


class PostgresUsageWriter(UsageWriter):
    def close(self) -> None:
        """Nothing is kept between transactions: PostgreSQL keeps its cache in the server."""

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self._engine.begin() as conn:
            driver_cursor(conn).execute(_STAGING)
            yield conn

    def store_events(self, conn: Connection, rows: Sequence[NewEvent]) -> dict[EventKey, str]:
        cursor = driver_cursor(conn)
        with cursor.copy(f"COPY events_staging ({','.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO events ({','.join(EVENT_COLUMNS)}) "
            f"SELECT {','.join(EVENT_COLUMNS)} FROM events_staging "
            "ON CONFLICT (producer_id, event_id) DO NOTHING RETURNING producer_id, event_id"
        )
        inserted = set(cursor.fetchall())
        if len(inserted) == len(rows):
            return {}
        missing: dict[str, list[str]] = {}
        for row in rows:
            if row.key not in inserted:
                missing.setdefault(row.producer_id, []).append(row.event_id)
        existing: dict[EventKey, str] = {}
        for producer_id, ids in missing.items():
            cursor.execute(
                "SELECT event_id, payload_hash FROM events WHERE producer_id = %s AND event_id = ANY(%s)",
                (producer_id, ids),
            )
            for event_id, fingerprint in cursor.fetchall():
                existing[(producer_id, event_id)] = fingerprint
        return existing

    def flag_late(self, conn: Connection, late: Mapping[str, list[str]]) -> None:
        cursor = driver_cursor(conn)
        for producer_id, event_ids in late.items():
            cursor.execute(
                "UPDATE events SET late = true WHERE producer_id = %s AND event_id = ANY(%s)",
                (producer_id, event_ids),
            )

    def upsert_rollups(self, conn: Connection, buckets: dict[RollupKey, Bucket]) -> None:
        # One COPY and one statement however many buckets a fetch touched; the upsert adds in the database
        # (NUMERIC, exact), so replicas folding into the same hour never lose each other's counts. Sorted, so
        # two writers lock shared rollup rows in the same order.
        cursor = driver_cursor(conn)
        with cursor.copy(f"COPY rollups_staging ({','.join(ROLLUP_COLUMNS)}) FROM STDIN") as copy:
            for key, bucket in sorted(buckets.items()):
                copy.write_row(RollupRow.of(key, bucket, Decimal))
        cursor.execute(
            f"INSERT INTO rollups AS r ({','.join(ROLLUP_COLUMNS)}) "
            f"SELECT {','.join(ROLLUP_COLUMNS)} FROM rollups_staging "
            "ON CONFLICT (meter_id, customer, group_key, hour_ms) DO UPDATE SET "
            "count = r.count + excluded.count, sum = r.sum + excluded.sum, "
            "min = LEAST(r.min, excluded.min), max = GREATEST(r.max, excluded.max), "
            f"latest_value = CASE WHEN {_NEWER} THEN excluded.latest_value ELSE r.latest_value END, "
            f"latest_event_id = CASE WHEN {_NEWER} THEN excluded.latest_event_id ELSE r.latest_event_id END, "
            f"latest_ts_ms = CASE WHEN {_NEWER} THEN excluded.latest_ts_ms ELSE r.latest_ts_ms END, "
            "weighted_ts = r.weighted_ts + excluded.weighted_ts"
        )

    def insert_unique_values(self, conn: Connection, rows: Sequence[UniqueValueRow]) -> None:
        cursor = driver_cursor(conn)
        columns = ",".join(UNIQUE_VALUE_COLUMNS)
        with cursor.copy(f"COPY unique_values_staging ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO unique_values ({columns}) SELECT {columns} FROM unique_values_staging "
            "ON CONFLICT DO NOTHING"
        )
