"""The recorder's store: one interface, one class per database (sqlite.py, postgresql.py).

Everything the recording transaction writes goes through a ``UsageWriter``. What both databases do alike (the
meters and closed periods read, conflicts and quarantined events, both rare) is written once here with
SQLAlchemy Core; what the hot path does per event is each database's own, at its fastest: driver cursors,
multi-row statements on SQLite, COPY on PostgreSQL (docs/performance.md).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from tally.metering.aggregation import Bucket
from tally.metering.recording.rows import ConflictRow, EventKey, NewEvent, QuarantineRow, UniqueValueRow
from tally.metering.rollup_fold import RollupKey
from tally.metering.store import (
    StoredMeter,
    closed_periods,
    event_conflicts,
    meters_in_force,
    quarantined_events,
)
from tally.persistence.dialects import upsert_insert

_CUSTOMERS_PER_QUERY = 5_000

WriteTransaction = Connection
"""One recording transaction, as the use case holds it: a handle it only hands back to the writer's methods
(and to late_usage's announcements, which enqueue in the same transaction)."""


class UsageWriter(ABC):
    """Writes recorded usage in one transaction per ``transaction()``; every method takes that transaction."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @abstractmethod
    def transaction(self) -> AbstractContextManager[Connection]:
        """A write transaction in which what is looked up stays true until commit (committed on exit)."""

    @abstractmethod
    def close(self) -> None:
        """Give back any connection kept between transactions (the next transaction opens another)."""

    @staticmethod
    def meters(conn: Connection) -> list[StoredMeter]:
        """The meters in force, read in the recording transaction: a meter created concurrently is either seen
        here or its backfill sees this transaction's events, never neither."""
        return meters_in_force(conn)

    @staticmethod
    def closed_until(conn: Connection, customers: set[str]) -> dict[str, int]:
        """Per customer of ``customers`` with a closed period, where it ends (ms)."""
        ordered = sorted(customers)
        found: dict[str, int] = {}
        for start in range(0, len(ordered), _CUSTOMERS_PER_QUERY):
            chunk = ordered[start : start + _CUSTOMERS_PER_QUERY]
            query = select(closed_periods).where(closed_periods.c.customer.in_(chunk))
            found.update((row.customer, row.closed_until_ms) for row in conn.execute(query))
        return found

    @abstractmethod
    def store_events(self, conn: Connection, rows: Sequence[NewEvent]) -> dict[EventKey, str]:
        """Insert the rows whose (producer, event id) is not stored yet; the fingerprints of those that were."""

    @abstractmethod
    def flag_late(self, conn: Connection, late: Mapping[str, list[str]]) -> None:
        """Mark the events just stored that arrived after their period closed (event ids per producer)."""

    @abstractmethod
    def upsert_rollups(self, conn: Connection, buckets: dict[RollupKey, Bucket]) -> None:
        """Add each bucket to its rollup row (creating it), exactly; replicas adding alike lose nothing."""

    @abstractmethod
    def insert_unique_values(self, conn: Connection, rows: Sequence[UniqueValueRow]) -> None:
        """Store the distinct values not stored yet."""

    @staticmethod
    def record_conflicts(conn: Connection, rows: Sequence[ConflictRow]) -> None:
        conn.execute(insert(event_conflicts), [row._asdict() for row in rows])

    @staticmethod
    def set_aside(conn: Connection, rows: Sequence[QuarantineRow]) -> int:
        """Store the events metering cannot apply, once per (producer, event id); how many were new."""
        added = 0
        for row in rows:
            statement = (
                upsert_insert(quarantined_events, conn.dialect.name)
                .values(**row._asdict())
                .on_conflict_do_nothing(index_elements=["producer_id", "event_id"])
                .returning(quarantined_events.c.id)
            )
            added += len(conn.execute(statement).all())
        return added


def driver_cursor(conn: Connection) -> Any:
    """The driver's own cursor: the hot path skips SQLAlchemy's statement layer (docs/performance.md)."""
    return conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
