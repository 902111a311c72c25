"""Credit notes' ports: the repository of credit notes, and the transaction issuing one over the invoice core."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from tally.invoicing.credit_notes.domain import CreditNote, CreditNoteFilter, CreditNoteKey
from tally.invoicing.ports import InvoiceTransaction


class CreditNoteRepository(Protocol):
    def get(self, credit_note_id: str) -> CreditNote | None: ...

    def find(self, where: CreditNoteFilter, *, after: CreditNoteKey | None, limit: int) -> list[CreditNote]:
        """Credit notes newest first, with their lines, starting after ``after``."""
        ...

    def of_invoice(self, invoice_id: str) -> list[CreditNote]:
        """Every credit note against the invoice, oldest first."""
        ...

    def add(self, note: CreditNote, *, now: datetime) -> None: ...


class CreditNoteTransaction(InvoiceTransaction, Protocol):
    @property
    def credit_notes(self) -> CreditNoteRepository: ...
