"""erp-sync's table: the sync ledger, one row per document per ERP, created once whatever the redeliveries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    and_,
    or_,
    select,
)
from sqlalchemy.engine import RowMapping

from tally.erp_sync.domain import DocumentKind, Erp, SyncRecord, SyncState
from tally.persistence import inbox
from tally.persistence.dialects import upsert_insert
from tally.persistence.types import UtcDateTime

metadata = MetaData()

sync_records = Table(
    "sync_records",
    metadata,
    Column("id", Text, primary_key=True),
    Column("erp", Text, nullable=False),
    Column("document_kind", Text, nullable=False),
    Column("document_id", Text, nullable=False),
    Column("erp_key", Text, nullable=False),
    Column("erp_internal_id", Text, nullable=True),
    Column("state", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("erp", "document_kind", "document_id", name="uq_sync_records_document"),
)


@dataclass(frozen=True)
class SyncFilter:
    erp: Erp | None = None
    state: SyncState | None = None
    document_kind: DocumentKind | None = None


@dataclass(frozen=True)
class SyncKey:
    """Where a page of records (most recently changed first) ended."""

    updated_at: datetime
    id: str


def _record(row: RowMapping) -> SyncRecord:
    return SyncRecord(
        id=row["id"],
        erp=Erp(row["erp"]),
        document_kind=DocumentKind(row["document_kind"]),
        document_id=row["document_id"],
        erp_key=row["erp_key"],
        state=SyncState(row["state"]),
        attempts=row["attempts"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        erp_internal_id=row["erp_internal_id"],
        last_error=row["last_error"],
    )


class SyncLedger:
    """The sync ledger."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add_pending(self, consumer: str, msg_id: str, records: Sequence[SyncRecord]) -> int:
        """Claim ``msg_id`` and add the records not in the ledger yet, in one transaction; how many were new."""
        added = 0
        with self._engine.begin() as conn:
            if not inbox.claim(conn, consumer, msg_id):
                return 0
            for record in records:
                stmt = (
                    upsert_insert(sync_records, conn.dialect.name)
                    .values(
                        id=record.id,
                        erp=record.erp.value,
                        document_kind=record.document_kind.value,
                        document_id=record.document_id,
                        erp_key=record.erp_key,
                        erp_internal_id=record.erp_internal_id,
                        state=record.state.value,
                        attempts=record.attempts,
                        last_error=record.last_error,
                        created_at=record.created_at,
                        updated_at=record.updated_at,
                    )
                    .on_conflict_do_nothing(index_elements=["erp", "document_kind", "document_id"])
                    .returning(sync_records.c.id)
                )
                if conn.execute(stmt).first() is not None:
                    added += 1
        return added

    def for_document(self, kind: DocumentKind, document_id: str) -> list[SyncRecord]:
        query = (
            select(sync_records)
            .where(sync_records.c.document_kind == kind.value, sync_records.c.document_id == document_id)
            .order_by(sync_records.c.erp)
        )
        with self._engine.connect() as conn:
            return [_record(row) for row in conn.execute(query).mappings()]

    def list(self, where: SyncFilter, *, after: SyncKey | None, limit: int) -> list[SyncRecord]:
        """Records most recently changed first, starting after ``after``."""
        query = (
            select(sync_records)
            .order_by(sync_records.c.updated_at.desc(), sync_records.c.id.desc())
            .limit(limit)
        )
        if where.erp is not None:
            query = query.where(sync_records.c.erp == where.erp.value)
        if where.state is not None:
            query = query.where(sync_records.c.state == where.state.value)
        if where.document_kind is not None:
            query = query.where(sync_records.c.document_kind == where.document_kind.value)
        if after is not None:
            query = query.where(
                or_(
                    sync_records.c.updated_at < after.updated_at,
                    and_(sync_records.c.updated_at == after.updated_at, sync_records.c.id < after.id),
                )
            )
        with self._engine.connect() as conn:
            return [_record(row) for row in conn.execute(query).mappings()]
