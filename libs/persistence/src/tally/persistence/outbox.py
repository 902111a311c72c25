"""The transactional outbox: events written in the same transaction as the state change that emits them."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from alembic import op
from opentelemetry import propagate
from opentelemetry.context import Context
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    column,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import ColumnElement

__all__ = [
    "OUTBOX_TABLE",
    "create_outbox_table",
    "drop_outbox_table",
    "enqueue",
    "outbox_table",
    "purge_published",
    "unpublished_count",
]

OUTBOX_TABLE = "outbox"
_UNPUBLISHED_INDEX = "ix_outbox_unpublished"


def _columns() -> list[Column[object]]:
    return [
        # SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL needs 64 bits for a busy service.
        Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
        Column("msg_id", Text, nullable=False, unique=True),
        Column("subject", Text, nullable=False),
        Column("payload", LargeBinary, nullable=False),
        Column("headers", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("published_at", DateTime(timezone=True), nullable=True),
    ]


def _unpublished_where() -> ColumnElement[bool]:
    # A partial index keeps the relay's scan proportional to the backlog, not to the table's history.
    return column("published_at").is_(None)


def outbox_table(metadata: MetaData) -> Table:
    """The outbox table on ``metadata``; every service's outbox has this exact shape."""
    table = Table(OUTBOX_TABLE, metadata, *_columns())
    where = table.c.published_at.is_(None)
    Index(_UNPUBLISHED_INDEX, table.c.id, postgresql_where=where, sqlite_where=where)
    return table


def create_outbox_table() -> None:
    """For a migration script's ``upgrade()``: create the outbox table and its index."""
    op.create_table(OUTBOX_TABLE, *_columns())
    where = _unpublished_where()
    op.create_index(_UNPUBLISHED_INDEX, OUTBOX_TABLE, ["id"], postgresql_where=where, sqlite_where=where)


def drop_outbox_table() -> None:
    """For a migration script's ``downgrade()``."""
    op.drop_index(_UNPUBLISHED_INDEX, table_name=OUTBOX_TABLE)
    op.drop_table(OUTBOX_TABLE)


_OUTBOX = outbox_table(MetaData())


def enqueue(
    conn: Connection,
    subject: str,
    payload: bytes,
    msg_id: str,
    headers: Mapping[str, str] | None = None,
    *,
    context: Context | None = None,
) -> None:
    """Add an event to the outbox inside the caller's transaction; it is published only if that commits.

    ``msg_id`` becomes the ``Nats-Msg-Id`` (and the consumers' inbox key), so it must be derived from the
    state change (e.g. ``invoice-finalized:<invoice id>``), never random per attempt. The trace context
    (``context``, default the current one) is captured so the relay's publish continues the writer's trace:
    code writing on a thread of its own, where no span is current, passes the context of the work it does.
    """
    carrier = dict(headers) if headers else {}
    propagate.inject(carrier, context=context)
    conn.execute(
        insert(_OUTBOX).values(
            msg_id=msg_id,
            subject=subject,
            payload=payload,
            headers=json.dumps(carrier),
            created_at=datetime.now(UTC),
        )
    )


def enqueue_many(
    conn: Connection, messages: Sequence[tuple[str, bytes, str]], *, context: Context | None = None
) -> None:
    """``enqueue`` for many (subject, payload, msg id) at once, in one executemany."""
    if not messages:
        return
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=context)
    headers = json.dumps(carrier)
    now = datetime.now(UTC)
    conn.execute(
        insert(_OUTBOX),
        [
            {"msg_id": msg_id, "subject": subject, "payload": payload, "headers": headers, "created_at": now}
            for subject, payload, msg_id in messages
        ],
    )


def purge_published(conn: Connection, before: datetime) -> int:
    """Delete rows published before ``before``; returns how many. Unpublished rows are never touched."""
    result = conn.execute(
        delete(_OUTBOX).where(_OUTBOX.c.published_at.is_not(None), _OUTBOX.c.published_at < before)
    )
    return result.rowcount


def unpublished_count(engine: Engine) -> int:
    """Rows committed but not yet published: the backlog the relay still has to move (uses the partial index)."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).where(_OUTBOX.c.published_at.is_(None))).scalar_one())
