"""The one small interface every ERP adapter implements: ensure a customer, post a document, find one by its
key, list a period's documents, and read payments since a cursor. Calls block (the SDKs do): callers run them
in threads, a bounded number at a time."""

from __future__ import annotations

from datetime import date
from typing import Protocol

from tally.erp_sync.documents import Document
from tally.erp_sync.domain import DocumentKind, Erp
from tally.erp_sync.mapping import ErpMapping
from tally.erp_sync.payments import ErpPayment
from tally.erp_sync.reconciliation import BookedDocument


class ErpAdapter(Protocol):
    erp: Erp

    def ensure_customer(self, document: Document, mapping: ErpMapping) -> str:
        """The ERP's reference of the document's customer, created (or matched by its key) if needed."""

    def post(self, document: Document, customer: str, mapping: ErpMapping) -> str:
        """Post the document once; the ERP's internal id. Raises Retryable or Rejected."""

    def find(self, kind: DocumentKind, key: str) -> str | None:
        """The internal id of the document posted under ``key``, or None if the ERP has none."""

    def documents(self, start: date, end: date, mapping: ErpMapping) -> list[BookedDocument]:
        """Invoices and credit notes dated in [start, end), as the ERP holds them."""

    def payments_since(self, cursor: str) -> tuple[list[ErpPayment], str]:
        """Payments applied to invoices changed at or after ``cursor`` (empty: from the start), and the next
        cursor. A payment may come again on the next read: callers record each once by its reference."""
