"""Credit notes in invoicing's tables: notes with their lines, read with the number of the invoice they credit,
a repository on the caller's connection."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, insert, or_, select
from sqlalchemy.engine import Connection, RowMapping

from tally.invoicing.credit_notes.domain import (
    CreditNote,
    CreditNoteFilter,
    CreditNoteKey,
    CreditNoteLine,
    CreditNoteReason,
)
from tally.invoicing.tables import credit_note_lines, credit_notes, invoices
from tally.money import Money


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
        applied=Decimal(row["applied"]),
        carried=Decimal(row["carried_forward"]),
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


class SqlCreditNotes:
    """The CreditNoteRepository on one connection."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, credit_note_id: str) -> CreditNote | None:
        rows = list(self._conn.execute(_select_notes().where(credit_notes.c.id == credit_note_id)).mappings())
        found = _with_lines(self._conn, rows)
        return found[0] if found else None

    def find(self, where: CreditNoteFilter, *, after: CreditNoteKey | None, limit: int) -> list[CreditNote]:
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
        return _with_lines(self._conn, list(self._conn.execute(query).mappings()))

    def of_invoice(self, invoice_id: str) -> list[CreditNote]:
        rows = list(
            self._conn.execute(
                _select_notes()
                .where(credit_notes.c.invoice_id == invoice_id)
                .order_by(credit_notes.c.issued_at, credit_notes.c.id)
            ).mappings()
        )
        return _with_lines(self._conn, rows)

    def add(self, note: CreditNote, *, now: datetime) -> None:
        self._conn.execute(
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
                applied=str(note.applied),
                carried_forward=str(note.carried),
            )
        )
        self._conn.execute(
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
