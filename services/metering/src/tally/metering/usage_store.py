"""The store behind usage queries (queries.py): one consistent snapshot, in which each read joins the queries'
keys (a VALUES list) against ``rollups``, ``unique_values`` or ``events`` in one statement."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Engine,
    Integer,
    Table,
    Text,
    and_,
    column,
    false,
    func,
    select,
    values,
)
from sqlalchemy.sql import Select

from tally.metering.aggregation import Bucket
from tally.metering.store import StoredMeter, events, meter_from_row, meters, rollups, unique_values

_EVENTS_PER_FETCH = 2_000

HourKeys = tuple[int, str, str, int, int]
"""(query, meter id, customer, first hour, end of the last hour): whole hours a query reads from rollups."""
CarriedKeys = tuple[int, str, str, int]
"""(query, meter id, customer, hour): a WEIGHTED_SUM query's level carried in from the rollups before hour."""
SpanKeys = tuple[int, str, str, int, int]
"""(query, customer, event type, start, end): a span a query reads from the live raw events."""


class UsageStore:
    """Opens the snapshots usage queries read in."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @contextmanager
    def snapshot(self) -> Iterator[UsageSnapshot]:
        """A read-only view in which every statement sees the same state, so a correction committing halfway
        through cannot be counted in the rollups and missed in the raw events (or the reverse)."""
        with self._engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            else:
                conn.exec_driver_sql("BEGIN")
            yield UsageSnapshot(conn)


class UsageSnapshot:
    """Reads of one snapshot; each method is one statement, its rows tagged with the query they answer."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._postgres = conn.dialect.name == "postgresql"

    def meters(self, ids: set[str]) -> dict[str, StoredMeter]:
        """The meters of ``ids`` that exist, by id."""
        found = self._conn.execute(select(meters).where(meters.c.id.in_(sorted(ids)))).mappings()
        return {stored.id: stored for stored in map(meter_from_row, found)}

    def hours(self, wanted: Sequence[HourKeys]) -> Iterator[tuple[int, str, int, Bucket]]:
        """(query, group key, hour, bucket) of every rollup row in the queries' whole hours."""
        keys = _wanted(wanted, "meter_id", "customer", "lo", "hi")
        found = select(keys.c.q, rollups).join_from(keys, rollups, _in_hours(rollups, keys))
        for row in self._conn.execute(found):
            yield row.q, row.group_key, row.hour_ms, _bucket_from_row(row)

    def unique_values(self, wanted: Sequence[HourKeys]) -> Iterator[tuple[int, str, int, str]]:
        """(query, group key, hour, value) of every distinct value stored in the queries' whole hours."""
        keys = _wanted(wanted, "meter_id", "customer", "lo", "hi")
        found = select(keys.c.q, unique_values.c.group_key, unique_values.c.hour_ms, unique_values.c.value)
        found = found.join_from(keys, unique_values, _in_hours(unique_values, keys))
        for row in self._conn.execute(found):
            yield row.q, row.group_key, row.hour_ms, row.value

    def carried_levels(self, wanted: Sequence[CarriedKeys]) -> Iterator[tuple[int, str, Decimal]]:
        """(query, group key, level) for the changes in rollup hours before each query's hour; a group may come
        more than once (its levels add up)."""
        rows = self._conn.execute(self._carried_levels(wanted))
        return ((q, key, level) for q, key, level in rows)

    def _carried_levels(self, wanted: Sequence[CarriedKeys]) -> Select[Any]:
        keys = _wanted(wanted, "meter_id", "customer", "hi")
        on = and_(
            rollups.c.meter_id == keys.c.meter_id,
            rollups.c.customer == keys.c.customer,
            rollups.c.hour_ms < keys.c.hi,
        )
        if self._postgres:
            total = func.sum(rollups.c.sum).label("level")
            return (
                select(keys.c.q, rollups.c.group_key, total)
                .join_from(keys, rollups, on)
                .group_by(keys.c.q, rollups.c.group_key)
            )
        # SQLite sums text through floats: hand every hour over and add the Decimals in Python.
        return select(keys.c.q, rollups.c.group_key, rollups.c.sum).join_from(keys, rollups, on)

    def raw_events(self, wanted: Sequence[SpanKeys]) -> Iterator[tuple[int, str, dict[str, str], int, str]]:
        """(query, event type, properties, timestamp, event id) of every live event in the queries' spans,
        fetched a few thousand at a time."""
        keys = _wanted(wanted, "customer", "event_type", "lo", "hi")
        raw = select(
            keys.c.q, events.c.event_id, events.c.event_type, events.c.timestamp_ms, events.c.properties
        ).join_from(
            keys,
            events,
            and_(
                events.c.customer == keys.c.customer,
                events.c.event_type == keys.c.event_type,
                events.c.timestamp_ms >= keys.c.lo,
                events.c.timestamp_ms < keys.c.hi,
                events.c.voided == false(),
            ),
        )
        for row in self._conn.execute(raw.execution_options(yield_per=_EVENTS_PER_FETCH)):
            yield row.q, row.event_type, json.loads(row.properties), row.timestamp_ms, row.event_id


def _in_hours(table: Table, keys: Any) -> ColumnElement[bool]:
    """The join of ``rollups`` or ``unique_values`` rows to the keys of the queries whose hours hold them."""
    return and_(
        table.c.meter_id == keys.c.meter_id,
        table.c.customer == keys.c.customer,
        table.c.hour_ms >= keys.c.lo,
        table.c.hour_ms < keys.c.hi,
    )


def _bucket_from_row(row: Any) -> Bucket:
    return Bucket(
        count=row.count,
        sum=row.sum,
        min=row.min,
        max=row.max,
        latest_ts_ms=row.latest_ts_ms,
        latest_event_id=row.latest_event_id,
        latest_value=row.latest_value,
        weighted_ts=row.weighted_ts,
    )


_WANTED_TYPES = {"meter_id": Text, "customer": Text, "event_type": Text, "lo": BigInteger, "hi": BigInteger}


def _wanted(rows: Sequence[tuple[Any, ...]], *names: str) -> Any:
    """The queries' keys as a VALUES common table expression ``wanted(q, *names)`` to join tables against."""
    columns = [column("q", Integer), *(column(name, _WANTED_TYPES[name]) for name in names)]
    return values(*columns, name="wanted").data(list(rows)).cte("wanted")
