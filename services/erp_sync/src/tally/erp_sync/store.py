"""erp-sync's ledger tables: documents as issued, one sync record per document per ERP (created once whatever
the redeliveries, claimed under a lease while posting), and the customers created in each ERP."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import (
    Boolean,
    Column,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    and_,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.engine import RowMapping

from tally.domain.errors import FailedPrecondition, NotFound
from tally.erp_sync.domain import DocumentKind, Erp, SyncRecord, SyncState
from tally.erp_sync.posting import Transition
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
    Column("next_attempt_at", UtcDateTime(), nullable=True),
    Column("lease_until", UtcDateTime(), nullable=True),
    Column("verify", Boolean, nullable=False, default=False),
    UniqueConstraint("erp", "document_kind", "document_id", name="uq_sync_records_document"),
)

documents = Table(
    "documents",
    metadata,
    Column("kind", Text, primary_key=True),
    Column("id", Text, primary_key=True),
    Column("number", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("receivable", Text, nullable=False),
    Column("issued_at", UtcDateTime(), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("trace_context", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

erp_customers = Table(
    "erp_customers",
    metadata,
    Column("erp", Text, primary_key=True),
    Column("customer_id", Text, primary_key=True),
    Column("erp_reference", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
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


@dataclass(frozen=True)
class StoredDocument:
    """A document as queued: its wire payload (the event's invoice or credit note) and the trace it came in."""

    kind: DocumentKind
    id: str
    number: str
    currency: str
    receivable: str
    """What the ERP's document must total, as exact decimal text."""
    issued_at: datetime
    payload: bytes
    trace_context: str
    """JSON of the W3C trace headers of the message that announced the document."""


@dataclass(frozen=True)
class Claim:
    """A record taken for one posting attempt, with its document."""

    record: SyncRecord
    document: StoredDocument


@dataclass(frozen=True)
class PostedInvoice:
    document_id: str
    number: str
    currency: str


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
        next_attempt_at=row["next_attempt_at"],
        verify=bool(row["verify"]),
    )


def _document(row: RowMapping) -> StoredDocument:
    return StoredDocument(
        kind=DocumentKind(row["kind"]),
        id=row["id"],
        number=row["number"],
        currency=row["currency"],
        receivable=row["receivable"],
        issued_at=row["issued_at"],
        payload=row["payload"],
        trace_context=row["trace_context"],
    )


class SyncLedger:
    """The sync ledger and the documents it posts."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add_pending(
        self,
        consumer: str,
        msg_id: str,
        document: StoredDocument,
        records: Sequence[SyncRecord],
        *,
        now: datetime,
    ) -> int:
        """Claim ``msg_id``, keep the document and add the records not in the ledger yet, in one transaction;
        how many records were new."""
        added = 0
        with self._engine.begin() as conn:
            if not inbox.claim(conn, consumer, msg_id):
                return 0
            conn.execute(
                upsert_insert(documents, conn.dialect.name)
                .values(
                    kind=document.kind.value,
                    id=document.id,
                    number=document.number,
                    currency=document.currency,
                    receivable=document.receivable,
                    issued_at=document.issued_at,
                    payload=document.payload,
                    trace_context=document.trace_context,
                    created_at=now,
                )
                .on_conflict_do_nothing(index_elements=["kind", "id"])
            )
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
                        verify=False,
                    )
                    .on_conflict_do_nothing(index_elements=["erp", "document_kind", "document_id"])
                    .returning(sync_records.c.id)
                )
                if conn.execute(stmt).first() is not None:
                    added += 1
        return added

    # -- posting -----------------------------------------------------------------------------------------------
    def claim(self, erp: Erp, *, now: datetime, lease: timedelta, limit: int) -> list[Claim]:
        """Take up to ``limit`` records due for an attempt: PENDING ones whose time has come, and SENDING ones
        whose lease ran out (their poster died mid-call: the next attempt looks the document up first)."""
        c = sync_records.c
        due = or_(
            and_(
                c.state == SyncState.PENDING.value, or_(c.next_attempt_at.is_(None), c.next_attempt_at <= now)
            ),
            and_(c.state == SyncState.SENDING.value, c.lease_until < now),
        )
        with self._engine.begin() as conn:
            rows = (
                conn.execute(
                    select(sync_records, documents)
                    .join(
                        documents, and_(documents.c.kind == c.document_kind, documents.c.id == c.document_id)
                    )
                    .where(c.erp == erp.value, due)
                    .order_by(c.created_at, c.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True, of=sync_records)
                )
                .mappings()
                .all()
            )
            claims = []
            for row in rows:
                resumed = row["state"] == SyncState.SENDING.value
                conn.execute(
                    update(sync_records)
                    .where(c.id == row["id"])
                    .values(
                        state=SyncState.SENDING.value,
                        attempts=c.attempts + 1,
                        lease_until=now + lease,
                        verify=True if resumed else c.verify,
                        updated_at=now,
                    )
                )
                record = _record(row)
                taken = replace(
                    record,
                    state=SyncState.SENDING,
                    attempts=record.attempts + 1,
                    verify=record.verify or resumed,
                )
                claims.append(Claim(taken, _document(row)))
        return claims

    def finish(self, record_id: str, transition: Transition, *, now: datetime) -> None:
        """Record an attempt's end, if the record is still this poster's (SENDING)."""
        values: dict[str, object] = {
            "state": transition.state.value,
            "last_error": transition.last_error,
            "next_attempt_at": transition.next_attempt_at,
            "lease_until": None,
            "verify": transition.verify,
            "updated_at": now,
        }
        if transition.erp_internal_id is not None:
            values["erp_internal_id"] = transition.erp_internal_id
        with self._engine.begin() as conn:
            conn.execute(
                update(sync_records)
                .where(sync_records.c.id == record_id, sync_records.c.state == SyncState.SENDING.value)
                .values(**values)
            )

    def retry(self, record_id: str, *, now: datetime) -> SyncRecord:
        """A FAILED record back to PENDING, due at once, its attempts counted afresh; the ERP is checked first."""
        with self._engine.begin() as conn:
            row = (
                conn.execute(select(sync_records).where(sync_records.c.id == record_id).with_for_update())
                .mappings()
                .first()
            )
            if row is None:
                raise NotFound("sync record", record_id, field="sync_record_id")
            if row["state"] != SyncState.FAILED.value:
                raise FailedPrecondition(
                    f"sync record {record_id} is {row['state']}: only a FAILED record can be retried"
                )
            conn.execute(
                update(sync_records)
                .where(sync_records.c.id == record_id)
                .values(
                    state=SyncState.PENDING.value,
                    attempts=0,
                    next_attempt_at=None,
                    verify=True,
                    updated_at=now,
                )
            )
            updated = (
                conn.execute(select(sync_records).where(sync_records.c.id == record_id)).mappings().one()
            )
        return _record(updated)

    def state(self, erp: Erp, kind: DocumentKind, document_id: str) -> SyncState | None:
        c = sync_records.c
        with self._engine.connect() as conn:
            found = conn.execute(
                select(c.state).where(
                    c.erp == erp.value, c.document_kind == kind.value, c.document_id == document_id
                )
            ).scalar_one_or_none()
        return None if found is None else SyncState(found)

    def customer_reference(self, erp: Erp, customer_id: str) -> str | None:
        with self._engine.connect() as conn:
            return conn.execute(
                select(erp_customers.c.erp_reference).where(
                    erp_customers.c.erp == erp.value, erp_customers.c.customer_id == customer_id
                )
            ).scalar_one_or_none()

    def save_customer(self, erp: Erp, customer_id: str, reference: str, *, now: datetime) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                upsert_insert(erp_customers, conn.dialect.name)
                .values(erp=erp.value, customer_id=customer_id, erp_reference=reference, created_at=now)
                .on_conflict_do_nothing(index_elements=["erp", "customer_id"])
            )

    # -- reading -----------------------------------------------------------------------------------------------
    def posted_invoice(self, erp: Erp, erp_internal_id: str) -> PostedInvoice | None:
        """The Tally invoice posted to ``erp`` under the ERP's ``erp_internal_id``."""
        c = sync_records.c
        with self._engine.connect() as conn:
            row = (
                conn.execute(
                    select(documents.c.id, documents.c.number, documents.c.currency)
                    .select_from(
                        sync_records.join(
                            documents,
                            and_(documents.c.kind == c.document_kind, documents.c.id == c.document_id),
                        )
                    )
                    .where(
                        c.erp == erp.value,
                        c.document_kind == DocumentKind.INVOICE.value,
                        c.erp_internal_id == erp_internal_id,
                    )
                )
                .mappings()
                .first()
            )
        return None if row is None else PostedInvoice(row["id"], row["number"], row["currency"])

    def documents_issued(self, start: datetime, end: datetime) -> list[StoredDocument]:
        """Documents issued in [start, end)."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(documents)
                .where(documents.c.issued_at >= start, documents.c.issued_at < end)
                .order_by(documents.c.kind, documents.c.id)
            ).mappings()
            return [_document(row) for row in rows]

    def counts(self) -> list[tuple[Erp, SyncState, int, int]]:
        """(erp, state, records, records tried more than once) for every ERP and state present."""
        c = sync_records.c
        retried = func.sum(func.cast(c.attempts > 1, Integer))
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(c.erp, c.state, func.count(), retried)
                .group_by(c.erp, c.state)
                .order_by(c.erp, c.state)
            ).all()
        return [(Erp(erp), SyncState(state), int(n), int(r or 0)) for erp, state, n, r in rows]

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
