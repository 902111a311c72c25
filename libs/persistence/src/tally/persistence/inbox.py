"""The inbox: which messages a consumer has applied, claimed in the same transaction as their effect."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import op
from sqlalchemy import Column, DateTime, MetaData, PrimaryKeyConstraint, Table, Text
from sqlalchemy.engine import Connection

from tally.persistence.dialects import upsert_insert

__all__ = ["INBOX_TABLE", "claim", "create_inbox_table", "drop_inbox_table", "inbox_table"]

INBOX_TABLE = "inbox"


def _columns() -> list[Column[object] | PrimaryKeyConstraint]:
    return [
        Column("consumer", Text, nullable=False),
        Column("msg_id", Text, nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False),
        PrimaryKeyConstraint("consumer", "msg_id", name="pk_inbox"),
    ]


def inbox_table(metadata: MetaData) -> Table:
    """The inbox table on ``metadata``; every service's inbox has this exact shape."""
    return Table(INBOX_TABLE, metadata, *_columns())


def create_inbox_table() -> None:
    """For a migration script's ``upgrade()``."""
    op.create_table(INBOX_TABLE, *_columns())


def drop_inbox_table() -> None:
    """For a migration script's ``downgrade()``."""
    op.drop_table(INBOX_TABLE)


_INBOX = inbox_table(MetaData())


def claim(conn: Connection, consumer: str, msg_id: str) -> bool:
    """Record that ``consumer`` applies ``msg_id``; False if it already did (skip the effect, still ack).

    Call it in the same transaction as the effect: if that rolls back, so does the claim. A concurrent
    claim of the same message waits on the primary key and then finds it taken.
    """
    values = {"consumer": consumer, "msg_id": msg_id, "processed_at": datetime.now(UTC)}
    # RETURNING, not rowcount: psycopg reports no rowcount for a conflicting INSERT ... DO NOTHING.
    stmt = (
        upsert_insert(_INBOX, conn.dialect.name)
        .values(values)
        .on_conflict_do_nothing()
        .returning(_INBOX.c.msg_id)
    )
    return conn.execute(stmt).first() is not None
