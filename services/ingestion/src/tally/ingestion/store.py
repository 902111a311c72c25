"""Ingestion's tables: the rejected-events log, producers and their keys, and the projection of meters."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from tally.domain.errors import AlreadyExists, NotFound
from tally.ingestion.domain import (
    KeyCredential,
    KeyRow,
    MeterView,
    ProducerRecord,
    RejectedFilter,
    RejectedRecord,
    Rejection,
)
from tally.persistence.dialects import upsert_insert
from tally.persistence.inbox import claim
from tally.persistence.types import UtcDateTime

metadata = MetaData()

rejected_events = Table(
    "rejected_events",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("producer_id", Text, nullable=False),
    Column("batch_id", Text, nullable=False),
    Column("event_index", Integer, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("code", Text, nullable=False),
    Column("field", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    UniqueConstraint("producer_id", "batch_id", "event_index", name="uq_rejected_events_position"),
)

producers = Table(
    "producers",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("description", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("disabled", Boolean, nullable=False),
)

producer_keys = Table(
    "producer_keys",
    metadata,
    Column("key_id", Text, primary_key=True),
    Column("producer_id", Text, ForeignKey("producers.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("secret_sha256", Text, nullable=False),
    Column("scopes", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=True),
    Column("revoked_at", UtcDateTime(), nullable=True),
)

meter_projection = Table(
    "meter_projection",
    metadata,
    Column("meter_id", Text, primary_key=True),
    Column("key", Text, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("aggregation", Text, nullable=False),
    Column("value_property", Text, nullable=False),
    Column("deleted", Boolean, nullable=False),
    Column("changed_at_ms", BigInteger, nullable=False),
)


@dataclass(frozen=True)
class RejectedBounds:
    """How much of the rejected-events log is kept: what is older, or beyond a producer's newest, goes."""

    retention: timedelta = timedelta(days=30)
    """Rejections received longer ago than this are deleted."""
    max_per_producer: int = 100_000
    """Each producer keeps at most its newest this many rejections (plus what arrived since the last check)."""


_PRUNE_ROWS = 5_000
"""Rows deleted per statement by ``prune``, so no transaction of it grows with the backlog."""


class RejectedLog:
    """The rejected-events log: a retried batch records its rejections once; bounded by age and per producer.

    Each insert deletes the producer's rejections past the retention (a seek on (producer_id, received_at))
    and, once a tenth of its allowance has been inserted since the last look, those beyond its newest
    ``max_per_producer`` (a look that reads that many index entries, so it is not paid on every call);
    ``prune`` does both for every producer.
    """

    def __init__(self, engine: Engine, bounds: RejectedBounds | None = None) -> None:
        self._engine = engine
        self._bounds = bounds or RejectedBounds()
        self._insert = upsert_insert(rejected_events, engine.dialect.name).on_conflict_do_nothing(
            index_elements=["producer_id", "batch_id", "event_index"]
        )
        self._since_cap: dict[str, int] = {}
        self._since_cap_lock = threading.Lock()

    def record(
        self,
        producer_id: str,
        batch_id: str,
        received_at: datetime,
        rejected: Sequence[tuple[Rejection, dict[str, object]]],
    ) -> None:
        rows = [
            {
                "producer_id": producer_id,
                "batch_id": batch_id,
                "event_index": rejection.index,
                "event_id": rejection.event_id,
                "code": rejection.code,
                "field": rejection.field,
                "reason": rejection.reason,
                "payload": json.dumps(payload, sort_keys=True),
                "received_at": received_at,
            }
            for rejection, payload in rejected
        ]
        if not rows:
            return
        with self._engine.begin() as conn:
            conn.execute(self._insert, rows)
            conn.execute(
                delete(rejected_events).where(
                    rejected_events.c.producer_id == producer_id,
                    rejected_events.c.received_at < received_at - self._bounds.retention,
                )
            )
            if self._cap_due(producer_id, len(rows)):
                self._cap(conn, producer_id)

    def prune(self, now: datetime) -> int:
        """Delete every rejection past the retention, then each producer's beyond its allowance; how many."""
        deleted = 0
        cutoff = now - self._bounds.retention
        while True:
            with self._engine.begin() as conn:
                oldest = (
                    select(rejected_events.c.id)
                    .where(rejected_events.c.received_at < cutoff)
                    .limit(_PRUNE_ROWS)
                )
                gone = conn.execute(delete(rejected_events).where(rejected_events.c.id.in_(oldest))).rowcount
            deleted += gone
            if gone < _PRUNE_ROWS:
                break
        with self._engine.connect() as conn:
            crowded = (
                conn.execute(
                    select(rejected_events.c.producer_id)
                    .group_by(rejected_events.c.producer_id)
                    .having(func.count() > self._bounds.max_per_producer)
                )
                .scalars()
                .all()
            )
        for producer_id in crowded:
            with self._engine.begin() as conn:
                deleted += self._cap(conn, producer_id)
        return deleted

    def _cap_due(self, producer_id: str, inserted: int) -> bool:
        """True when the producer's allowance should be checked: at its first insert since start, then each
        time a tenth of the allowance has been inserted since the last check."""
        with self._since_cap_lock:
            since = self._since_cap.get(producer_id)
            if since is not None and since + inserted < max(1, self._bounds.max_per_producer // 10):
                self._since_cap[producer_id] = since + inserted
                return False
            self._since_cap[producer_id] = 0
            return True

    def _cap(self, conn: Connection, producer_id: str) -> int:
        """Delete the producer's rejections older than its newest ``max_per_producer``; how many."""
        first_dropped = conn.execute(
            select(rejected_events.c.id)
            .where(rejected_events.c.producer_id == producer_id)
            .order_by(rejected_events.c.id.desc())
            .offset(self._bounds.max_per_producer)
            .limit(1)
        ).scalar()
        if first_dropped is None:
            return 0
        return int(
            conn.execute(
                delete(rejected_events).where(
                    rejected_events.c.producer_id == producer_id, rejected_events.c.id <= first_dropped
                )
            ).rowcount
        )

    def list(self, where: RejectedFilter, *, after_id: int | None, limit: int) -> list[RejectedRecord]:
        # Newest first (the contract); the page token is the last id shown, so the next page is below it.
        query = select(rejected_events).order_by(rejected_events.c.id.desc()).limit(limit)
        if after_id is not None:
            query = query.where(rejected_events.c.id < after_id)
        if where.producer_id:
            query = query.where(rejected_events.c.producer_id == where.producer_id)
        if where.from_time is not None:
            query = query.where(rejected_events.c.received_at >= where.from_time)
        if where.to_time is not None:
            query = query.where(rejected_events.c.received_at < where.to_time)
        if where.code:
            query = query.where(rejected_events.c.code == where.code)
        with self._engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            RejectedRecord(
                id=row["id"],
                producer_id=row["producer_id"],
                batch_id=row["batch_id"],
                rejection=Rejection(
                    row["event_index"], row["event_id"], row["code"], row["field"], row["reason"]
                ),
                payload=json.loads(row["payload"]),
                received_at=row["received_at"] or row["received_at"],
            )
            for row in rows
        ]


def _producer(row: Any) -> ProducerRecord:
    return ProducerRecord(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        created_at=row["created_at"] or row["created_at"],
        disabled=bool(row["disabled"]),
    )


def _key(row: Any) -> KeyRow:
    return KeyRow(
        key_id=row["key_id"],
        producer_id=row["producer_id"],
        name=row["name"],
        secret_sha256=row["secret_sha256"],
        scopes=frozenset(json.loads(row["scopes"])),
        created_at=row["created_at"] or row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
    )


class ProducerStore:
    """Producers (unique by name) and their API keys."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create_producer(self, producer: ProducerRecord) -> ProducerRecord:
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    insert(producers).values(
                        id=producer.id,
                        name=producer.name,
                        description=producer.description,
                        created_at=producer.created_at,
                        disabled=producer.disabled,
                    )
                )
        except IntegrityError:
            raise AlreadyExists("producer", producer.name, field="producer.name") from None
        return producer

    def list_producers(self, *, after_name: str | None, limit: int) -> list[ProducerRecord]:
        query = select(producers).order_by(producers.c.name).limit(limit)
        if after_name is not None:
            query = query.where(producers.c.name > after_name)
        with self._engine.connect() as conn:
            return [_producer(row) for row in conn.execute(query).mappings()]

    def _require_producer(self, conn: Connection, producer_id: str) -> None:
        found = conn.execute(select(producers.c.id).where(producers.c.id == producer_id)).first()
        if found is None:
            raise NotFound("producer", producer_id, field="producer_id")

    def add_key(self, key: KeyRow) -> KeyRow:
        with self._engine.begin() as conn:
            self._require_producer(conn, key.producer_id)
            conn.execute(
                insert(producer_keys).values(
                    key_id=key.key_id,
                    producer_id=key.producer_id,
                    name=key.name,
                    secret_sha256=key.secret_sha256,
                    scopes=json.dumps(sorted(key.scopes)),
                    created_at=key.created_at,
                    expires_at=key.expires_at,
                    revoked_at=None,
                )
            )
        return key

    def list_keys(
        self, producer_id: str, *, include_revoked: bool, after_key_id: str | None, limit: int
    ) -> list[KeyRow]:
        query = (
            select(producer_keys)
            .where(producer_keys.c.producer_id == producer_id)
            .order_by(producer_keys.c.key_id)
            .limit(limit)
        )
        if not include_revoked:
            query = query.where(producer_keys.c.revoked_at.is_(None))
        if after_key_id is not None:
            query = query.where(producer_keys.c.key_id > after_key_id)
        with self._engine.connect() as conn:
            self._require_producer(conn, producer_id)
            return [_key(row) for row in conn.execute(query).mappings()]

    def revoke_key(self, key_id: str, now: datetime) -> KeyRow:
        """Revoke once: a second revocation keeps the first revocation time."""
        with self._engine.begin() as conn:
            conn.execute(
                update(producer_keys)
                .where(producer_keys.c.key_id == key_id, producer_keys.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            row = (
                conn.execute(select(producer_keys).where(producer_keys.c.key_id == key_id)).mappings().first()
            )
        if row is None:
            raise NotFound("API key", key_id, field="api_key_id")
        return _key(row)

    def credential(self, key_id: str) -> KeyCredential | None:
        query = (
            select(producer_keys, producers.c.disabled)
            .join(producers, producers.c.id == producer_keys.c.producer_id)
            .where(producer_keys.c.key_id == key_id)
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        return KeyCredential(_key(row), bool(row["disabled"]))


class MeterProjection:
    """Ingestion's copy of metering's meters, maintained from MeterChanged events through the inbox."""

    def __init__(self, engine: Engine, consumer: str) -> None:
        self._engine = engine
        self._consumer = consumer
        self._dialect = engine.dialect.name

    def apply(self, msg_id: str, meter: MeterView, key: str, *, deleted: bool, changed_at_ms: int) -> bool:
        """Upsert the meter and claim the message in one transaction; False when already applied.

        A change older than the one held is claimed but not applied, so a redelivered old event cannot
        resurrect a meter's earlier definition.
        """
        values = {
            "meter_id": meter.meter_id,
            "key": key,
            "event_type": meter.event_type,
            "aggregation": meter.aggregation,
            "value_property": meter.value_property,
            "deleted": deleted,
            "changed_at_ms": changed_at_ms,
        }
        stmt = upsert_insert(meter_projection, self._dialect).values(values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["meter_id"],
            set_={name: stmt.excluded[name] for name in values if name != "meter_id"},
            where=meter_projection.c.changed_at_ms <= stmt.excluded.changed_at_ms,
        )
        with self._engine.begin() as conn:
            if not claim(conn, self._consumer, msg_id):
                return False
            conn.execute(stmt)
        return True

    def live_meters(self) -> list[MeterView]:
        query = select(
            meter_projection.c.meter_id,
            meter_projection.c.event_type,
            meter_projection.c.aggregation,
            meter_projection.c.value_property,
        ).where(meter_projection.c.deleted.is_(False))
        with self._engine.connect() as conn:
            return [MeterView(*row) for row in conn.execute(query)]
