"""Credit note use cases: issue one, void an invoice with one, read and list them, and render both kinds of PDF."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from opentelemetry import trace

from tally.domain.errors import InvalidArgument, NotFound
from tally.invoicing.credit_notes.domain import CreditNote, CreditNoteReason, Extent
from tally.invoicing.credit_notes.store import (
    CreditNoteFilter,
    CreditNoteKey,
    CreditNoteStore,
    Voided,
)
from tally.invoicing.documents.pdf import render_credit_note, render_invoice
from tally.invoicing.documents.rendering import (
    credit_note_filename,
    credit_note_view,
    invoice_filename,
    invoice_view,
)
from tally.invoicing.documents.views import Party
from tally.invoicing.events import credit_note_issued
from tally.invoicing.store import InvoiceStore
from tally.mesh import attributes

_log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return f"cn_{uuid.uuid4().hex}"


def _required(value: str, field: str) -> str:
    if not value:
        raise InvalidArgument.field(field, "is required")
    return value


class CreditNotes:
    """Issues credit notes and voids invoices; CreditNoteIssued is published after each commit."""

    def __init__(
        self,
        store: CreditNoteStore,
        wake_relay: Callable[[], None],
        *,
        clock: Callable[[], datetime] = _now,
        new_id: Callable[[], str] = _new_id,
    ) -> None:
        self._store = store
        self._wake_relay = wake_relay
        self._clock = clock
        self._new_id = new_id

    async def create(
        self, invoice_id: str, extent: Extent, reason: CreditNoteReason, memo: str
    ) -> CreditNote:
        _required(invoice_id, "invoice_id")
        trace.get_current_span().set_attribute(attributes.INVOICE, invoice_id)
        note = await asyncio.to_thread(
            self._store.issue,
            invoice_id,
            extent,
            credit_note_id=self._new_id(),
            reason=reason,
            memo=memo,
            now=self._clock(),
            event=credit_note_issued,
        )
        self._wake_relay()
        _log.info("credit note %s issued on invoice %s for %s", note.number, invoice_id, note.total)
        return note

    async def void(self, invoice_id: str, reason: str) -> Voided:
        """FINALIZED → VOID with a credit note for what is left to credit; voiding again changes nothing."""
        _required(invoice_id, "invoice_id")
        trace.get_current_span().set_attribute(attributes.INVOICE, invoice_id)
        voided = await asyncio.to_thread(
            self._store.void,
            invoice_id,
            credit_note_id=self._new_id(),
            memo=reason,
            now=self._clock(),
            event=credit_note_issued,
        )
        self._wake_relay()
        _log.info(
            "invoice %s void, credit note %s",
            invoice_id,
            "none (nothing left to credit)" if voided.credit_note is None else voided.credit_note.number,
        )
        return voided

    async def get(self, credit_note_id: str) -> CreditNote:
        _required(credit_note_id, "credit_note_id")
        note = await asyncio.to_thread(self._store.get, credit_note_id)
        if note is None:
            raise NotFound("credit note", credit_note_id, field="credit_note_id")
        return note

    async def list(
        self, where: CreditNoteFilter, *, after: CreditNoteKey | None, limit: int
    ) -> list[CreditNote]:
        return await asyncio.to_thread(self._store.list, where, after=after, limit=limit)


class Pdfs:
    """Renders invoices and credit notes as PDFs, off the event loop (reportlab is CPU-bound)."""

    def __init__(self, invoices: InvoiceStore, credit_notes: CreditNoteStore, issuer: Party) -> None:
        self._invoices = invoices
        self._credit_notes = credit_notes
        self._issuer = issuer

    async def invoice(self, invoice_id: str) -> tuple[bytes, str]:
        """The PDF and its file name."""
        _required(invoice_id, "invoice_id")
        invoice = await asyncio.to_thread(self._invoices.get, invoice_id)
        if invoice is None:
            raise NotFound("invoice", invoice_id, field="invoice_id")
        pdf = await asyncio.to_thread(render_invoice, invoice_view(invoice, self._issuer))
        return pdf, invoice_filename(invoice)

    async def credit_note(self, credit_note_id: str) -> tuple[bytes, str]:
        """The PDF and its file name."""
        _required(credit_note_id, "credit_note_id")
        note = await asyncio.to_thread(self._credit_notes.get, credit_note_id)
        if note is None:
            raise NotFound("credit note", credit_note_id, field="credit_note_id")
        invoice = await asyncio.to_thread(self._invoices.get, note.invoice_id)
        if invoice is None:  # pragma: no cover - credit_notes.invoice_id is a foreign key
            raise NotFound("invoice", note.invoice_id, field="credit_note_id")
        pdf = await asyncio.to_thread(render_credit_note, credit_note_view(note, invoice, self._issuer))
        return pdf, credit_note_filename(note)
