"""Credit notes in invoicing's tables: issuing and voiding in one numbered transaction, reading and listing."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, Select, and_, insert, or_, select, update
from sqlalchemy.engine import Connection, RowMapping

from tally.domain.errors import NotFound
from tally.invoicing.credit_ledger import store as ledger
from tally.invoicing.credit_notes.domain import (
    CreditNote,
    CreditNoteLine,
    CreditNoteReason,
    Extent,
    FullCredit,
    check_voidable,
    credit_lines,
    credit_note,
    credited_by,
    nothing_left,
)
from tally.invoicing.domain import Invoice, InvoiceStatus
from tally.invoicing.numbering import CREDIT_NOTE_PREFIX, take_number
from tally.invoicing.store import OutboxMessage, load_invoice
from tally.invoicing.tables import credit_note_lines, credit_notes, invoices
from tally.money import Money
from tally.persistence import outbox


@dataclass(frozen=True)
class CreditNoteFilter:
    customer_id: str | None = None
    invoice_id: str | None = None


@dataclass(frozen=True)
class CreditNoteKey:
    """Where a page of credit notes (newest first) ended."""

    issued_at: datetime
    id: str


@dataclass(frozen=True)
class Voided:
    """A VOID invoice and the credit note voiding it (None when nothing was left to credit)."""

    invoice: Invoice
    credit_note: CreditNote | None


class _AlreadyVoid(Exception):
    """Unwinds a void transaction (and the number it took) whose invoice was voided before."""

    def __init__(self, voided: Voided) -> None:
        super().__init__(voided.invoice.id)
        self.voided = voided


class _NothingToCredit(Exception):
    """Unwinds a void transaction that took a number it does not need: the invoice was credited in full."""


def _line(row: RowMapping, currency: str) -> CreditNoteLine:
    return CreditNoteLine(
        id=row["id"],
        position=row["position"],
        invoice_line_id=row["invoice_line_id"] or "",
        description=row["description"],
        amount=Money(Decimal(row["amount"]), currency),
        tax=Money(Decimal(row["tax"]), currency),
        quantity=None if row["quantity"] is None else Decimal(row["quantity"]),
        event_ids=tuple(json.loads(row["event_ids"])) if row["event_ids"] else (),
    )


def _note(row: RowMapping, lines: Sequence[CreditNoteLine]) -> CreditNote:
    currency = row["currency"]
    return CreditNote(
        id=row["id"],
        number=row["number"],
        invoice_id=row["invoice_id"],
        invoice_number=row["invoice_number"] or "",
        customer_id=row["customer_id"],
        currency=currency,
        reason=CreditNoteReason(row["reason"]),
        memo=row["memo"],
        lines=tuple(lines),
        subtotal=Money(Decimal(row["subtotal"]), currency),
        tax=Money(Decimal(row["tax"]), currency),
        total=Money(Decimal(row["total"]), currency),
        issued_at=row["issued_at"],
    )


def _select_notes() -> Select[Any]:
    return select(credit_notes, invoices.c.number.label("invoice_number")).join(
        invoices, invoices.c.id == credit_notes.c.invoice_id
    )


def _with_lines(conn: Connection, rows: Sequence[RowMapping]) -> list[CreditNote]:
    if not rows:
        return []
    by_note: dict[str, list[RowMapping]] = {row["id"]: [] for row in rows}
    for line in conn.execute(
        select(credit_note_lines)
        .where(credit_note_lines.c.credit_note_id.in_(list(by_note)))
        .order_by(credit_note_lines.c.credit_note_id, credit_note_lines.c.position)
    ).mappings():
        by_note[line["credit_note_id"]].append(line)
    return [_note(row, [_line(line, row["currency"]) for line in by_note[row["id"]]]) for row in rows]


def _notes_of(conn: Connection, invoice_id: str) -> list[CreditNote]:
    rows = list(
        conn.execute(
            _select_notes()
            .where(credit_notes.c.invoice_id == invoice_id)
            .order_by(credit_notes.c.issued_at, credit_notes.c.id)
        ).mappings()
    )
    return _with_lines(conn, rows)


def _insert(conn: Connection, note: CreditNote, now: datetime) -> None:
    conn.execute(
        insert(credit_notes).values(
            id=note.id,
            number=note.number,
            invoice_id=note.invoice_id,
            customer_id=note.customer_id,
            currency=note.currency,
            reason=note.reason.value,
            memo=note.memo,
            subtotal=str(note.subtotal.amount),
            tax=str(note.tax.amount),
            total=str(note.total.amount),
            issued_at=note.issued_at,
            created_at=now,
        )
    )
    conn.execute(
        insert(credit_note_lines),
        [
            {
                "id": line.id,
                "credit_note_id": note.id,
                "position": line.position,
                "invoice_line_id": line.invoice_line_id or None,
                "description": line.description,
                "quantity": None if line.quantity is None else str(line.quantity),
                "amount": str(line.amount.amount),
                "tax": str(line.tax.amount),
                "event_ids": json.dumps(list(line.event_ids)) if line.event_ids else None,
            }
            for line in note.lines
        ],
    )


def _void_note(notes: Sequence[CreditNote]) -> CreditNote | None:
    return next((note for note in reversed(notes) if note.reason is CreditNoteReason.INVOICE_VOIDED), None)


def _burns_given_back(invoice: Invoice) -> str:
    return f"Invoice {invoice.number or invoice.id} voided"


class CreditNoteStore:
    """Issues credit notes and voids invoices, each in one transaction with its CreditNoteIssued event.

    Every issuing transaction takes the next ``CN`` number as its first statement, as finalize does for
    ``INV``: on SQLite that write takes the database's write lock before anything is read, on PostgreSQL it
    locks the series row, so concurrent credit notes queue in order and each sees what the earlier ones
    credited. A refused credit note rolls its number back with it, so numbers stay gapless.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def issue(
        self,
        invoice_id: str,
        extent: Extent,
        *,
        credit_note_id: str,
        reason: CreditNoteReason,
        memo: str,
        now: datetime,
        event: Callable[[CreditNote], OutboxMessage],
    ) -> CreditNote:
        with self._engine.begin() as conn:
            number = take_number(conn, CREDIT_NOTE_PREFIX, now)
            invoice = load_invoice(conn, invoice_id, for_update=True)
            if invoice is None:
                raise NotFound("invoice", invoice_id, field="invoice_id")
            earlier = credited_by(_notes_of(conn, invoice_id))
            lines = credit_lines(invoice, extent, earlier, credit_note_id=credit_note_id)
            if not lines:
                raise nothing_left(invoice)
            note = credit_note(
                invoice, lines, id=credit_note_id, number=number, reason=reason, memo=memo, issued_at=now
            )
            _insert(conn, note, now)
            message = event(note)
            outbox.enqueue(conn, message.subject, message.payload, message.msg_id)
            return note

    def void(
        self,
        invoice_id: str,
        *,
        credit_note_id: str,
        memo: str,
        now: datetime,
        event: Callable[[CreditNote], OutboxMessage],
    ) -> Voided:
        """FINALIZED → VOID with a credit note for everything left to credit and the invoice's prepaid credit
        given back, in one transaction; a VOID invoice is returned as it is with its credit note."""
        try:
            return self._void(invoice_id, credit_note_id=credit_note_id, memo=memo, now=now, event=event)
        except _AlreadyVoid as done:
            # Voiding is idempotent; the exception rolled back the number this attempt took.
            return done.voided
        except _NothingToCredit:
            return self._void_uncredited(invoice_id, now=now)

    def _void(
        self,
        invoice_id: str,
        *,
        credit_note_id: str,
        memo: str,
        now: datetime,
        event: Callable[[CreditNote], OutboxMessage],
    ) -> Voided:
        with self._engine.begin() as conn:
            number = take_number(conn, CREDIT_NOTE_PREFIX, now)
            invoice = load_invoice(conn, invoice_id, for_update=True)
            if invoice is None:
                raise NotFound("invoice", invoice_id, field="invoice_id")
            notes = _notes_of(conn, invoice_id)
            if invoice.status is InvoiceStatus.VOID:
                raise _AlreadyVoid(Voided(invoice, _void_note(notes)))
            check_voidable(invoice)
            lines = credit_lines(invoice, FullCredit(), credited_by(notes), credit_note_id=credit_note_id)
            if not lines:
                raise _NothingToCredit(invoice_id)
            note = credit_note(
                invoice,
                lines,
                id=credit_note_id,
                number=number,
                reason=CreditNoteReason.INVOICE_VOIDED,
                memo=memo,
                issued_at=now,
            )
            _insert(conn, note, now)
            voided = self._set_void(conn, invoice, now)
            message = event(note)
            outbox.enqueue(conn, message.subject, message.payload, message.msg_id)
            return Voided(voided, note)

    def _void_uncredited(self, invoice_id: str, *, now: datetime) -> Voided:
        """Voids an invoice earlier credit notes credited in full: no new credit note, so no number.

        The first statement is the status change, a write, for the same locking reason as a number; credit
        notes issued in between could only have credited more, so there is still nothing to credit.
        """
        with self._engine.begin() as conn:
            changed = conn.execute(
                update(invoices)
                .where(invoices.c.id == invoice_id, invoices.c.status == InvoiceStatus.FINALIZED.value)
                .values(status=InvoiceStatus.VOID.value, voided_at=now, updated_at=now)
            ).rowcount
            invoice = load_invoice(conn, invoice_id)
            if invoice is None:
                raise NotFound("invoice", invoice_id, field="invoice_id")
            if not changed:
                if invoice.status is InvoiceStatus.VOID:
                    return Voided(invoice, _void_note(_notes_of(conn, invoice_id)))
                check_voidable(invoice)
            ledger.reverse_burns(conn, invoice_id, at=now, description=_burns_given_back(invoice))
            return Voided(invoice, None)

    def _set_void(self, conn: Connection, invoice: Invoice, now: datetime) -> Invoice:
        conn.execute(
            update(invoices)
            .where(invoices.c.id == invoice.id, invoices.c.status == InvoiceStatus.FINALIZED.value)
            .values(status=InvoiceStatus.VOID.value, voided_at=now, updated_at=now)
        )
        ledger.reverse_burns(conn, invoice.id, at=now, description=_burns_given_back(invoice))
        voided = load_invoice(conn, invoice.id)
        if voided is None:  # pragma: no cover - the row is locked by this transaction
            raise NotFound("invoice", invoice.id, field="invoice_id")
        return voided

    def get(self, credit_note_id: str) -> CreditNote | None:
        with self._engine.connect() as conn:
            rows = list(conn.execute(_select_notes().where(credit_notes.c.id == credit_note_id)).mappings())
            found = _with_lines(conn, rows)
        return found[0] if found else None

    def list(self, where: CreditNoteFilter, *, after: CreditNoteKey | None, limit: int) -> list[CreditNote]:
        """Credit notes newest first, with their lines, starting after ``after``."""
        query = (
            _select_notes().order_by(credit_notes.c.issued_at.desc(), credit_notes.c.id.desc()).limit(limit)
        )
        if where.customer_id:
            query = query.where(credit_notes.c.customer_id == where.customer_id)
        if where.invoice_id:
            query = query.where(credit_notes.c.invoice_id == where.invoice_id)
        if after is not None:
            query = query.where(
                or_(
                    credit_notes.c.issued_at < after.issued_at,
                    and_(credit_notes.c.issued_at == after.issued_at, credit_notes.c.id < after.id),
                )
            )
        with self._engine.connect() as conn:
            return _with_lines(conn, list(conn.execute(query).mappings()))
