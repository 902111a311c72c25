"""What the posting, payment and reconciliation use cases need from storage: the ports the stores implement
(and the unit tests fake)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from tally.erp_sync.domain import DocumentKind, Erp, SyncState
from tally.erp_sync.mapping import ErpMapping
from tally.erp_sync.payment_book import RecordedPayment
from tally.erp_sync.posting import Transition
from tally.erp_sync.store import Claim, PostedInvoice, StoredDocument


class PostingLedger(Protocol):
    def claim(self, erp: Erp, *, now: datetime, lease: timedelta, limit: int) -> list[Claim]: ...

    def finish(self, record_id: str, transition: Transition, *, now: datetime) -> None: ...

    def state(self, erp: Erp, kind: DocumentKind, document_id: str) -> SyncState | None: ...

    def customer_reference(self, erp: Erp, customer_id: str) -> str | None: ...

    def save_customer(self, erp: Erp, customer_id: str, reference: str, *, now: datetime) -> None: ...


class PostedInvoices(Protocol):
    def posted_invoice(self, erp: Erp, erp_internal_id: str) -> PostedInvoice | None: ...


class IssuedDocuments(Protocol):
    def documents_issued(self, start: datetime, end: datetime) -> list[StoredDocument]: ...


class Payments(Protocol):
    def cursor(self, erp: Erp) -> str: ...

    def record(self, erp: Erp, payments: Sequence[RecordedPayment], cursor: str, *, now: datetime) -> int: ...


class Mappings(Protocol):
    def current(self, erp: Erp) -> ErpMapping: ...
