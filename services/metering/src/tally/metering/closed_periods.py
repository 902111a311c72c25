"""The store behind closing periods: the usage lock, each customer's closed period, and the sweep for events
stored after an invoice read usage (the only SQL of closing.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, false, func, select, update

from tally.metering.recording.payload import IncomingEvent
from tally.metering.store import StoredMeter, closed_periods, events, meters_in_force
from tally.metering.watermark import stored_since
from tally.persistence.dialects import upsert_insert

_IDS_PER_UPDATE = 500


def lock_usage(conn: Connection) -> None:
    """Take the usage lock for the rest of ``conn``'s transaction (its first statement on SQLite).

    PostgreSQL: SHARE ROW EXCLUSIVE on ``events`` waits for recording transactions in flight (they hold ROW
    EXCLUSIVE from their INSERT) and holds new ones at their INSERT until commit; it also excludes other
    corrections. SQLite: ``BEGIN IMMEDIATE`` takes the database's single write lock up front.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def usage_locked(engine: Engine) -> Iterator[Connection]:
    """A transaction on ``engine`` holding the usage lock: no recording commits beside it."""
    with engine.begin() as conn:
        lock_usage(conn)
        yield conn


class ClosedPeriodStore:
    """Closed periods and the late flags a close sets, in transactions that hold the usage lock."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @contextmanager
    def locked(self) -> Iterator[Connection]:
        """A transaction holding the usage lock: no recording commits beside it."""
        with usage_locked(self._engine) as conn:
            yield conn

    @staticmethod
    def move_close(conn: Connection, customer: str, until_ms: int) -> None:
        """The customer's closed period ends at ``until_ms`` now, unless it already ends later."""
        dialect = conn.dialect.name
        statement = upsert_insert(closed_periods, dialect).values(customer=customer, closed_until_ms=until_ms)
        larger = func.max if dialect == "sqlite" else func.greatest
        statement = statement.on_conflict_do_update(
            index_elements=[closed_periods.c.customer],
            set_={
                "closed_until_ms": larger(
                    closed_periods.c.closed_until_ms, statement.excluded.closed_until_ms
                )
            },
        )
        conn.execute(statement)

    @staticmethod
    def flag_stored_after_read(
        conn: Connection,
        customer: str,
        start_ms: int,
        until_ms: int,
        *,
        watermark: int,
        recorded_since_ms: int,
    ) -> dict[str, list[IncomingEvent]]:
        """Flag late the customer's live, on-time events of [start_ms, until_ms) stored after a usage read: at
        or past ``watermark``, or without one (0) recorded since ``recorded_since_ms``. They, per producer."""
        if watermark:
            after_read = stored_since(conn, watermark)
        else:
            after_read = events.c.recorded_at_ms >= recorded_since_ms
        rows = conn.execute(
            select(
                events.c.id,
                events.c.producer_id,
                events.c.event_id,
                events.c.customer,
                events.c.event_type,
                events.c.timestamp_ms,
                events.c.properties,
            ).where(
                events.c.customer == customer,
                events.c.timestamp_ms >= start_ms,
                events.c.timestamp_ms < until_ms,
                after_read,
                events.c.late == false(),
                events.c.voided == false(),
            )
        ).all()
        ids = [row.id for row in rows]
        for start in range(0, len(ids), _IDS_PER_UPDATE):
            conn.execute(
                update(events).where(events.c.id.in_(ids[start : start + _IDS_PER_UPDATE])).values(late=True)
            )
        by_producer: dict[str, list[IncomingEvent]] = {}
        for row in rows:
            by_producer.setdefault(row.producer_id, []).append(
                IncomingEvent(
                    row.event_id, row.customer, row.event_type, row.timestamp_ms, json.loads(row.properties)
                )
            )
        return by_producer

    @staticmethod
    def meters(conn: Connection) -> list[StoredMeter]:
        return meters_in_force(conn)
