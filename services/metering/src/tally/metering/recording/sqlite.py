"""The recorder's store on SQLite: the write lock first, then single-step multi-row statements.

The write lock is taken first (``BEGIN IMMEDIATE``), so "look up the ids already stored, then insert the
rest" is exact, and every statement is a single step: the sqlite3 module releases the GIL around each step and
must win it back afterwards, which costs up to a thread switch interval while the preparing thread runs, so a
statement that steps once per row would crawl.

With ``keep_connection`` one connection does all the writes, with a large page cache. SQLite drops a
connection's cache whenever another connection wrote, so only a connection that does all the writing keeps
the hot index pages between transactions; and the customer/time index takes each event at a random place, so
a transaction that spills pages from a small cache writes them twice.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import TypeVar

from sqlalchemy import Connection, Engine

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

_T = TypeVar("_T")

WRITER_CACHE_KIB = 64 * 1024
"""Page cache of the kept writer connection (SQLite's default is 2 MiB)."""
ROWS_PER_STATEMENT = 1024
"""Multi-row statements take this many rows, then halves for the rest (see ``shaped_chunks``)."""

_EVENT_ROW = "(" + ",".join("?" * len(EVENT_COLUMNS)) + ")"
_ROLLUP_ROW = "(" + ",".join("?" * len(ROLLUP_COLUMNS)) + ")"
_UNIQUE_VALUE_ROW = "(" + ",".join("?" * len(UNIQUE_VALUE_COLUMNS)) + ")"
_COUNT_ROW = "(?,?,?,?,?,'0',NULL,NULL,NULL,'',NULL,'0')"
"""A rollup row of a bucket that only counts (COUNT, UNIQUE_COUNT): key and count, every decimal zero."""


class SqliteUsageWriter(UsageWriter):
    def __init__(self, engine: Engine, *, keep_connection: bool = False) -> None:
        super().__init__(engine)
        self._keep = keep_connection
        self._kept: Connection | None = None
        self._kept_lock = threading.Lock()

    def close(self) -> None:
        with self._kept_lock:
            if self._kept is not None:
                self._kept.close()
                self._kept = None

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        if not self._keep:
            with self._engine.begin() as conn:
                _lock_for_writing(conn)
                yield conn
            return
        with self._kept_lock:
            if self._kept is None:
                self._kept = self._engine.connect()
                self._kept.exec_driver_sql(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")
                self._kept.commit()
            with self._kept.begin():
                _lock_for_writing(self._kept)
                yield self._kept

    def store_events(self, conn: Connection, rows: Sequence[NewEvent]) -> dict[EventKey, str]:
        cursor = driver_cursor(conn)
        ids_by_producer: dict[str, list[str]] = {}
        for row in rows:
            ids_by_producer.setdefault(row.producer_id, []).append(row.event_id)
        existing: dict[EventKey, str] = {}
        for producer_id, ids in ids_by_producer.items():
            # One row back (a JSON array) rather than one step per stored id.
            cursor.execute(
                "SELECT json_group_array(json_array(event_id, payload_hash)) FROM events "
                "WHERE producer_id = ? AND event_id IN (SELECT value FROM json_each(?))",
                (producer_id, json.dumps(ids)),
            )
            for event_id, fingerprint in json.loads(cursor.fetchone()[0]):
                existing[(producer_id, event_id)] = fingerprint
        new = [row for row in rows if row.key not in existing] if existing else rows
        for chunk in shaped_chunks(new):
            # No ON CONFLICT: under the write lock the lookup above is exact, and a surprise should fail loudly.
            cursor.execute(
                f"INSERT INTO events ({','.join(EVENT_COLUMNS)}) VALUES {','.join([_EVENT_ROW] * len(chunk))}",
                [value for row in chunk for value in row],
            )
        return existing

    def flag_late(self, conn: Connection, late: Mapping[str, list[str]]) -> None:
        cursor = driver_cursor(conn)
        for producer_id, event_ids in late.items():
            for chunk in shaped_chunks(event_ids):
                cursor.execute(
                    "UPDATE events SET late = 1 "
                    f"WHERE producer_id = ? AND event_id IN ({','.join('?' * len(chunk))})",
                    [producer_id, *chunk],
                )

    def upsert_rollups(self, conn: Connection, buckets: dict[RollupKey, Bucket]) -> None:
        # A bucket with no numeric contribution (COUNT, UNIQUE_COUNT) only adds to `count`, which SQLite adds
        # exactly itself; numeric buckets carry decimals SQLite cannot add (it would round them to doubles), so
        # those are read, merged here in Decimal and written whole. The write lock is held since the
        # transaction began, so nothing changes these rows between read and write.
        cursor = driver_cursor(conn)
        counts = [key for key, bucket in buckets.items() if bucket.latest_ts_ms is None]
        numeric = sorted(key for key, bucket in buckets.items() if bucket.latest_ts_ms is not None)
        for chunk in shaped_chunks(counts):
            cursor.execute(
                f"INSERT INTO rollups ({','.join(ROLLUP_COLUMNS)}) VALUES {','.join([_COUNT_ROW] * len(chunk))} "
                "ON CONFLICT (meter_id, customer, group_key, hour_ms) DO UPDATE SET count = count + excluded.count",
                [part for key in chunk for part in (*key, buckets[key].count)],
            )
        merged: dict[RollupKey, Bucket] = {key: buckets[key] for key in numeric}
        for chunk in shaped_chunks(numeric):
            cursor.execute(
                f"SELECT json_group_array(json_array({','.join(ROLLUP_COLUMNS)})) FROM rollups "
                f"WHERE (meter_id, customer, group_key, hour_ms) IN (VALUES {','.join(['(?,?,?,?)'] * len(chunk))})",
                [part for key in chunk for part in key],
            )
            for found in json.loads(cursor.fetchone()[0]):
                stored = RollupRow(*found)
                bucket = stored.bucket()
                bucket.merge(merged[stored.key])
                merged[stored.key] = bucket
        for chunk in shaped_chunks(numeric):
            cursor.execute(
                f"INSERT OR REPLACE INTO rollups ({','.join(ROLLUP_COLUMNS)}) VALUES "
                f"{','.join([_ROLLUP_ROW] * len(chunk))}",
                [value for key in chunk for value in RollupRow.of(key, merged[key], _decimal_text)],
            )

    def insert_unique_values(self, conn: Connection, rows: Sequence[UniqueValueRow]) -> None:
        cursor = driver_cursor(conn)
        for chunk in shaped_chunks(rows):
            cursor.execute(
                f"INSERT INTO unique_values ({','.join(UNIQUE_VALUE_COLUMNS)}) "
                f"VALUES {','.join([_UNIQUE_VALUE_ROW] * len(chunk))} ON CONFLICT DO NOTHING",
                [value for row in chunk for value in row],
            )


def _lock_for_writing(conn: Connection) -> None:
    """Take the database's write lock now: what the transaction looks up stays true until it commits."""
    driver_cursor(conn).execute("BEGIN IMMEDIATE")


def shaped_chunks(items: Sequence[_T]) -> Iterator[Sequence[_T]]:
    """``items`` in chunks of ROWS_PER_STATEMENT, then of the powers of two that make up the rest.

    The sqlite3 module keeps each connection's last 128 statements prepared, and a prepared multi-row
    statement is large: one text per possible length let the cache grow the process by hundreds of MB.
    With these shapes there are only eleven lengths per statement.
    """
    start, size = 0, ROWS_PER_STATEMENT
    while start < len(items):
        while size > len(items) - start:
            size //= 2
        yield items[start : start + size]
        start += size


def _decimal_text(value: Decimal) -> str:
    return format(value, "f")
