"""Document use cases: an invoice or a credit note as a PDF, rendered off the event loop (reportlab is CPU-bound)."""

from __future__ import annotations

import asyncio

from tally.domain.errors import InvalidArgument, NotFound
from tally.invoicing.credit_notes.domain import CreditNote
from tally.invoicing.credit_notes.ports import CreditNoteTransaction
from tally.invoicing.documents.pdf import render_credit_note, render_invoice
from tally.invoicing.documents.rendering import (
    credit_note_filename,
    credit_note_view,
    invoice_filename,
    invoice_view,
)
from tally.invoicing.documents.views import Party
from tally.invoicing.domain import Invoice
from tally.invoicing.ports import Transactions, read


def _required(value: str, field: str) -> None:
    if not value:
        raise InvalidArgument.field(field, "is required")


def _with_invoice(tx: CreditNoteTransaction, credit_note_id: str) -> tuple[CreditNote, Invoice]:
    """The credit note and the invoice it credits."""
    note = tx.credit_notes.get(credit_note_id)
    if note is None:
        raise NotFound("credit note", credit_note_id, field="credit_note_id")
    invoice = tx.invoices.get(note.invoice_id)
    if invoice is None:  # pragma: no cover - credit_notes.invoice_id is a foreign key
        raise NotFound("invoice", note.invoice_id, field="credit_note_id")
    return note, invoice


class Pdfs:
    """Renders stored invoices and credit notes, printed as from ``issuer``."""

    def __init__(self, transactions: Transactions[CreditNoteTransaction], issuer: Party) -> None:
        self._transactions = transactions
        self._issuer = issuer

    async def invoice(self, invoice_id: str) -> tuple[bytes, str]:
        """The PDF and its file name."""
        _required(invoice_id, "invoice_id")
        invoice = await read(self._transactions, lambda tx: tx.invoices.get(invoice_id))
        if invoice is None:
            raise NotFound("invoice", invoice_id, field="invoice_id")
        pdf = await asyncio.to_thread(render_invoice, invoice_view(invoice, self._issuer))
        return pdf, invoice_filename(invoice)

    async def credit_note(self, credit_note_id: str) -> tuple[bytes, str]:
        """The PDF and its file name."""
        _required(credit_note_id, "credit_note_id")
        note, invoice = await read(self._transactions, lambda tx: _with_invoice(tx, credit_note_id))
        pdf = await asyncio.to_thread(render_credit_note, credit_note_view(note, invoice, self._issuer))
        return pdf, credit_note_filename(note)
