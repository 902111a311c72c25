"""The sync ledger's rules: which ERPs a document goes to, the key it carries there, its posting states (pure)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class Erp(enum.StrEnum):
    """An ERP Tally posts to."""

    NETSUITE = "NETSUITE"
    SAGE_INTACCT = "SAGE_INTACCT"


class DocumentKind(enum.StrEnum):
    """Kind of document synced."""

    INVOICE = "INVOICE"
    CREDIT_NOTE = "CREDIT_NOTE"
    PAYMENT = "PAYMENT"
    CUSTOMER = "CUSTOMER"


class SyncState(enum.StrEnum):
    """One document's posting to one ERP: PENDING → SENDING → POSTED, or FAILED (retried on request)."""

    PENDING = "PENDING"
    SENDING = "SENDING"
    POSTED = "POSTED"
    FAILED = "FAILED"


_KEY_PREFIXES = {
    DocumentKind.INVOICE: "tally-inv-",
    DocumentKind.CREDIT_NOTE: "tally-cn-",
    DocumentKind.PAYMENT: "tally-pay-",
    DocumentKind.CUSTOMER: "tally-cus-",
}


@dataclass(frozen=True)
class SyncRecord:
    """A document's posting to one ERP."""

    id: str
    erp: Erp
    document_kind: DocumentKind
    document_id: str
    erp_key: str
    state: SyncState
    attempts: int
    created_at: datetime
    updated_at: datetime
    erp_internal_id: str | None = None
    last_error: str = ""
    next_attempt_at: datetime | None = None
    """When a PENDING record is tried again (None: at once)."""
    verify: bool = False
    """The next attempt looks the document up in the ERP first: an earlier one may have written it."""


def erp_key(kind: DocumentKind, document_id: str) -> str:
    """The key the document carries in every ERP (externalId), the same on every retry.

    Posting looks the key up first, so a document whose earlier posting's outcome was lost is never
    created twice.
    """
    if not document_id:
        raise ValueError("a document id is required")
    return f"{_KEY_PREFIXES[kind]}{document_id}"


def parse_targets(raw: str) -> tuple[Erp, ...]:
    """The enabled ERPs from a comma list such as ``netsuite,sage_intacct`` (case-insensitive, no repeats)."""
    targets: list[Erp] = []
    for part in raw.split(","):
        name = part.strip().upper()
        if not name:
            continue
        try:
            erp = Erp(name)
        except ValueError:
            known = ", ".join(e.value.lower() for e in Erp)
            raise ValueError(f"unknown ERP {part.strip()!r}: expected one of {known}") from None
        if erp not in targets:
            targets.append(erp)
    if not targets:
        raise ValueError("name at least one ERP")
    return tuple(targets)


def pending_records(
    kind: DocumentKind, document_id: str, targets: tuple[Erp, ...], *, now: datetime, ids: list[str]
) -> list[SyncRecord]:
    """One PENDING record per enabled ERP for a new document; ``ids`` gives each record's id, in order."""
    if len(ids) != len(targets):
        raise ValueError(f"need {len(targets)} record ids, got {len(ids)}")
    key = erp_key(kind, document_id)
    return [
        SyncRecord(
            id=record_id,
            erp=erp,
            document_kind=kind,
            document_id=document_id,
            erp_key=key,
            state=SyncState.PENDING,
            attempts=0,
            created_at=now,
            updated_at=now,
        )
        for erp, record_id in zip(targets, ids, strict=True)
    ]
