"""Document use cases: an invoice, a credit note or a customer's statement as a PDF, rendered off the event loop
(reportlab is CPU-bound), with the logo of the legal entity issuing it."""

from __future__ import annotations

import asyncio

from tally.domain.errors import InvalidArgument, NotFound
from tally.invoicing.credit_notes.domain import CreditNote
from tally.invoicing.credit_notes.ports import CreditNoteTransaction
from tally.invoicing.documents.pdf import render_credit_note, render_invoice, render_statement
from tally.invoicing.documents.rendering import (
    credit_note_filename,
    credit_note_view,
    invoice_filename,
    invoice_view,
    newest_of,
    statement_filename,
    statement_view,
)
from tally.invoicing.documents.views import Party
from tally.invoicing.domain import Invoice, InvoiceFilter
from tally.invoicing.ports import Transactions, read
from tally.invoicing.receivables.domain import Statement


def _required(value: str, field: str) -> None:
    if not value:
        raise InvalidArgument.field(field, "is required")


def _logo(tx: CreditNoteTransaction, invoice: Invoice | None) -> bytes:
    return b"" if invoice is None or invoice.issuer is None else tx.logos.get(invoice.issuer.id)


def _with_invoice(tx: CreditNoteTransaction, credit_note_id: str) -> tuple[CreditNote, Invoice, bytes]:
    """The credit note, the invoice it credits and its issuer's logo."""
    note = tx.credit_notes.get(credit_note_id)
    if note is None:
        raise NotFound("credit note", credit_note_id, field="credit_note_id")
    invoice = tx.invoices.get(note.invoice_id)
    if invoice is None:  # pragma: no cover - credit_notes.invoice_id is a foreign key
        raise NotFound("invoice", note.invoice_id, field="credit_note_id")
    return note, invoice, _logo(tx, invoice)


class Pdfs:
    """Renders stored invoices, credit notes and statements; ``issuer`` prints those no legal entity issued."""

    def __init__(self, transactions: Transactions[CreditNoteTransaction], issuer: Party) -> None:
        self._transactions = transactions
        self._issuer = issuer

    async def invoice(self, invoice_id: str) -> tuple[bytes, str]:
        """The PDF and its file name."""
        _required(invoice_id, "invoice_id")

        def query(tx: CreditNoteTransaction) -> tuple[Invoice | None, bytes]:
            invoice = tx.invoices.get(invoice_id)
            return invoice, _logo(tx, invoice)

        invoice, logo = await read(self._transactions, query)
        if invoice is None:
            raise NotFound("invoice", invoice_id, field="invoice_id")
        return await self.render_invoice(invoice, logo), invoice_filename(invoice)

    async def render_invoice(self, invoice: Invoice, logo: bytes) -> bytes:
        return await asyncio.to_thread(render_invoice, invoice_view(invoice, self._issuer, logo))

    async def credit_note(self, credit_note_id: str) -> tuple[bytes, str]:
        """The PDF and its file name."""
        _required(credit_note_id, "credit_note_id")
        note, invoice, logo = await read(self._transactions, lambda tx: _with_invoice(tx, credit_note_id))
        pdf = await asyncio.to_thread(render_credit_note, credit_note_view(note, invoice, self._issuer, logo))
        return pdf, credit_note_filename(note)

    async def statement(self, statement: Statement) -> tuple[bytes, str]:
        """The statement's PDF, headed as the customer's newest invoice (its issuer, its customer details)."""

        def query(tx: CreditNoteTransaction) -> tuple[Invoice | None, bytes]:
            found = tx.invoices.find(InvoiceFilter(customer_id=statement.customer_id), after=None, limit=20)
            newest = newest_of(found)
            return newest, _logo(tx, newest)

        newest, logo = await read(self._transactions, query)
        view = statement_view(statement, newest, self._issuer, logo)
        pdf = await asyncio.to_thread(render_statement, view)
        return pdf, statement_filename(statement.customer_id, statement.as_of)
