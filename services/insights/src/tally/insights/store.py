"""Insights' tables: usage series with their model state, anomalies, usage activity, late usage (the only SQL)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    and_,
    case,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection

from tally.insights.activity import BatchActivity
from tally.insights.scanning import Activity, AnomalyRecord, ScanOutcome, SeriesRow, StaleScan
from tally.mesh import streams
from tally.persistence.dialects import upsert_insert
from tally.persistence.inbox import claim
from tally.persistence.outbox import enqueue
from tally.persistence.types import UtcDateTime

metadata = MetaData()

usage_series = Table(
    "usage_series",
    metadata,
    Column("id", Text, primary_key=True),
    Column("customer", Text, nullable=False),
    Column("meter_id", Text, nullable=False),
    Column("granularity", Text, nullable=False),
    Column("scored_until", UtcDateTime(), nullable=True),
    Column("state", Text, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

anomalies = Table(
    "anomalies",
    metadata,
    Column("id", Text, primary_key=True),
    Column("series_id", Text, nullable=False),
    Column("customer", Text, nullable=False),
    Column("meter_id", Text, nullable=False),
    Column("meter_key", Text, nullable=False),
    Column("granularity", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("severity", Text, nullable=False),
    Column("start_at", UtcDateTime(), nullable=False),
    Column("end_at", UtcDateTime(), nullable=True),
    Column("observed", Text, nullable=False),
    Column("expected", Text, nullable=False),
    Column("expected_low", Text, nullable=False),
    Column("expected_high", Text, nullable=False),
    Column("score", Float, nullable=False),
    Column("reason", Text, nullable=False),
    Column("detected_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

customer_activity = Table(
    "customer_activity",
    metadata,
    Column("customer", Text, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("first_event_at", UtcDateTime(), nullable=False),
    Column("last_event_at", UtcDateTime(), nullable=False),
    Column("events", BigInteger, nullable=False),
    Column("last_received_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("customer", "event_type", name="pk_customer_activity"),
)

producer_activity = Table(
    "producer_activity",
    metadata,
    Column("producer_id", Text, nullable=False),
    Column("day", UtcDateTime(), nullable=False),
    Column("accepted", BigInteger, nullable=False),
    Column("last_received_at", UtcDateTime(), nullable=False),
    PrimaryKeyConstraint("producer_id", "day", name="pk_producer_activity"),
)

late_usage = Table(
    "late_usage",
    metadata,
    Column("msg_id", Text, primary_key=True),
    Column("customer", Text, nullable=False),
    Column("meter_ids", Text, nullable=False),
    Column("period_start", UtcDateTime(), nullable=False),
    Column("period_end", UtcDateTime(), nullable=False),
    Column("cause", Text, nullable=False),
    Column("event_count", Integer, nullable=False),
    Column("detected_at", UtcDateTime(), nullable=False),
)


def _now() -> datetime:
    return datetime.now(UTC)


class SeriesStore:
    """Usage series and their anomalies; a scan's results commit together with the events they emit."""

    def __init__(self, engine: Engine, encode: Callable[[AnomalyRecord], bytes]) -> None:
        """``encode`` turns an anomaly into its AnomalyDetected payload (the wire lives with the servicer)."""
        self._engine = engine
        self._encode = encode

    def series(self) -> list[SeriesRow]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(usage_series)).all()
        return [
            SeriesRow(r.id, r.customer, r.meter_id, r.granularity, r.scored_until, json.loads(r.state))
            for r in rows
        ]

    def save_scan(self, outcome: ScanOutcome) -> None:
        """Every series' new state and scored_until, the anomalies that changed, and one AnomalyDetected per
        anomaly that is new or changed kind: one transaction. StaleScan if another scan got there first."""
        now = _now()
        with self._engine.begin() as conn:
            for row in outcome.series:
                state = json.dumps(row.state)
                if row.is_new:
                    conn.execute(
                        insert(usage_series).values(
                            id=row.id,
                            customer=row.customer,
                            meter_id=row.meter_id,
                            granularity=row.granularity,
                            scored_until=row.scored_until,
                            state=state,
                            updated_at=now,
                        )
                    )
                    continue
                # Optimistic: a replica that scanned the same series first moved scored_until on.
                done = conn.execute(
                    update(usage_series)
                    .where(
                        usage_series.c.id == row.id,
                        usage_series.c.scored_until.is_(None)
                        if row.previous_until is None
                        else usage_series.c.scored_until == row.previous_until,
                    )
                    .values(scored_until=row.scored_until, state=state, updated_at=now)
                )
                if done.rowcount != 1:
                    raise StaleScan(row.id)
            for record in outcome.anomalies:
                self._save_anomaly(conn, record, now)

    def _save_anomaly(self, conn: Connection, record: AnomalyRecord, now: datetime) -> None:
        held = conn.execute(select(anomalies.c.kind).where(anomalies.c.id == record.id)).first()
        values = {
            "series_id": record.series_id,
            "customer": record.customer,
            "meter_id": record.meter_id,
            "meter_key": record.meter_key,
            "granularity": record.granularity,
            "kind": record.kind,
            "severity": record.severity,
            "start_at": record.start_at,
            "end_at": record.end_at,
            "observed": record.observed,
            "expected": record.expected,
            "expected_low": record.expected_low,
            "expected_high": record.expected_high,
            "score": record.score,
            "reason": record.reason,
            "detected_at": record.detected_at,
            "updated_at": now,
        }
        if held is None:
            conn.execute(insert(anomalies).values(id=record.id, **values))
        else:
            conn.execute(update(anomalies).where(anomalies.c.id == record.id).values(**values))
        if held is None or held.kind != record.kind:
            enqueue(
                conn,
                streams.ANOMALY_DETECTED,
                self._encode(record),
                f"anomaly-detected:{record.id}:{record.kind}",
            )

    def anomalies(
        self,
        *,
        customer: str | None,
        meter_id: str | None,
        kind: str | None,
        overlapping: tuple[datetime | None, datetime | None],
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[AnomalyRecord]:
        """Newest start first, keyset-paged on (start_at, id)."""
        query = select(anomalies)
        if customer:
            query = query.where(anomalies.c.customer == customer)
        if meter_id:
            query = query.where(anomalies.c.meter_id == meter_id)
        if kind:
            query = query.where(anomalies.c.kind == kind)
        start, end = overlapping
        if end is not None:
            query = query.where(anomalies.c.start_at < end)
        if start is not None:
            query = query.where(or_(anomalies.c.end_at.is_(None), anomalies.c.end_at > start))
        if after is not None:
            at, last_id = after
            query = query.where(
                or_(anomalies.c.start_at < at, and_(anomalies.c.start_at == at, anomalies.c.id < last_id))
            )
        query = query.order_by(anomalies.c.start_at.desc(), anomalies.c.id.desc()).limit(limit)
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            AnomalyRecord(
                id=r.id,
                series_id=r.series_id,
                customer=r.customer,
                meter_id=r.meter_id,
                meter_key=r.meter_key,
                granularity=r.granularity,
                kind=r.kind,
                severity=r.severity,
                start_at=r.start_at,
                end_at=r.end_at,
                observed=r.observed,
                expected=r.expected,
                expected_low=r.expected_low,
                expected_high=r.expected_high,
                score=r.score,
                reason=r.reason,
                detected_at=r.detected_at,
            )
            for r in rows
        ]


@dataclass(frozen=True, slots=True)
class ActivityRow:
    customer: str
    event_type: str
    first_event_at: datetime
    last_event_at: datetime
    events: int


@dataclass(frozen=True, slots=True)
class ProducerDay:
    producer_id: str
    day: datetime
    accepted: int
    last_received_at: datetime


@dataclass(frozen=True, slots=True)
class LateUsageRow:
    customer: str
    meter_ids: tuple[str, ...]
    period_start: datetime
    period_end: datetime
    cause: str
    event_count: int
    detected_at: datetime


class ActivityStore:
    """Who sends usage of what (customers, producers) and usage that moved late, as the consumers project it."""

    def __init__(self, engine: Engine, consumer: str, late_consumer: str) -> None:
        """``consumer`` and ``late_consumer`` are the durable names the two consumers claim messages under."""
        self._engine = engine
        self._consumer = consumer
        self._late_consumer = late_consumer

    def record(self, batches: Sequence[tuple[str, BatchActivity]]) -> int:
        """Apply the activity of each (msg id, batch) not applied before, claiming each in the inbox, in one
        transaction. Returns how many were new."""
        with self._engine.begin() as conn:
            fresh = [activity for msg_id, activity in batches if claim(conn, self._consumer, msg_id)]
            if not fresh:
                return 0
            merged = BatchActivity.merge(fresh)
            dialect = conn.dialect.name
            for (customer, event_type), span in merged.customers.items():
                stmt = upsert_insert(customer_activity, dialect).values(
                    customer=customer,
                    event_type=event_type,
                    first_event_at=span.first,
                    last_event_at=span.last,
                    events=span.events,
                    last_received_at=merged.received_at,
                )
                conn.execute(
                    stmt.on_conflict_do_update(
                        index_elements=["customer", "event_type"],
                        set_={
                            "first_event_at": _least(
                                customer_activity.c.first_event_at, stmt.excluded.first_event_at
                            ),
                            "last_event_at": _greatest(
                                customer_activity.c.last_event_at, stmt.excluded.last_event_at
                            ),
                            "events": customer_activity.c.events + stmt.excluded.events,
                            "last_received_at": _greatest(
                                customer_activity.c.last_received_at, stmt.excluded.last_received_at
                            ),
                        },
                    )
                )
            for (producer, day), accepted in merged.producers.items():
                stmt = upsert_insert(producer_activity, dialect).values(
                    producer_id=producer, day=day, accepted=accepted, last_received_at=merged.received_at
                )
                conn.execute(
                    stmt.on_conflict_do_update(
                        index_elements=["producer_id", "day"],
                        set_={
                            "accepted": producer_activity.c.accepted + stmt.excluded.accepted,
                            "last_received_at": _greatest(
                                producer_activity.c.last_received_at, stmt.excluded.last_received_at
                            ),
                        },
                    )
                )
        return len(fresh)

    def record_late(self, msg_id: str, row: LateUsageRow) -> bool:
        with self._engine.begin() as conn:
            if not claim(conn, self._late_consumer, msg_id):
                return False
            conn.execute(
                insert(late_usage).values(
                    msg_id=msg_id,
                    customer=row.customer,
                    meter_ids=json.dumps(list(row.meter_ids)),
                    period_start=row.period_start,
                    period_end=row.period_end,
                    cause=row.cause,
                    event_count=row.event_count,
                    detected_at=row.detected_at,
                )
            )
        return True

    def activity(self) -> list[Activity]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(
                    customer_activity.c.customer,
                    customer_activity.c.event_type,
                    customer_activity.c.first_event_at,
                )
            ).all()
        return [Activity(r.customer, r.event_type, r.first_event_at) for r in rows]

    def customers(self) -> list[ActivityRow]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(customer_activity)).all()
        return [
            ActivityRow(r.customer, r.event_type, r.first_event_at, r.last_event_at, r.events) for r in rows
        ]

    def producer_days(self, since: datetime) -> list[ProducerDay]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(producer_activity).where(producer_activity.c.day >= since)).all()
        return [ProducerDay(r.producer_id, r.day, r.accepted, r.last_received_at) for r in rows]

    def producers_last_seen(self) -> dict[str, datetime]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(producer_activity.c.producer_id, producer_activity.c.last_received_at)
            ).all()
        found: dict[str, datetime] = {}
        for producer, seen in rows:
            if producer not in found or seen > found[producer]:
                found[producer] = seen
        return found

    def late_usage(self, since: datetime) -> list[LateUsageRow]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(late_usage).where(late_usage.c.detected_at >= since).order_by(late_usage.c.detected_at)
            ).all()
        return [
            LateUsageRow(
                r.customer,
                tuple(json.loads(r.meter_ids)),
                r.period_start,
                r.period_end,
                r.cause,
                r.event_count,
                r.detected_at,
            )
            for r in rows
        ]


def _least(a: Any, b: Any) -> Any:
    return case((b < a, b), else_=a)


def _greatest(a: Any, b: Any) -> Any:
    return case((b > a, b), else_=a)
