"""Credit note use cases: issue one, void an invoice with one, read and list them.

Issuing takes the next ``CN`` number first (``numbered``), as finalizing does for ``INV``, so concurrent credit
notes queue in order and each sees what the earlier ones credited; a refused credit note rolls its number back.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from opentelemetry import trace

from tally.domain.errors import InvalidArgument, NotFound
from tally.invoicing.credit_ledger.domain import GrantOrigin
from tally.invoicing.credit_ledger.handlers import give_back_burns, record_grants
from tally.invoicing.credit_notes.domain import (
    CreditNote,
    CreditNoteFilter,
    CreditNoteKey,
    CreditNoteReason,
    Extent,
    FullCredit,
    Voided,
    check_voidable,
    credit_lines,
    credit_note,
    credited_by,
    nothing_left,
    void_note,
)
from tally.invoicing.credit_notes.ports import CreditNoteTransaction
from tally.invoicing.domain import Invoice, InvoiceStatus, OutboxMessage
from tally.invoicing.handlers import issuing_prefix, numbered
from tally.invoicing.numbering import credit_note_prefix
from tally.invoicing.ports import Transactions, read
from tally.invoicing.receivables.domain import apply_credit_note, carried_credit
from tally.mesh import attributes
from tally.money import Money

_log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return f"cn_{uuid.uuid4().hex}"


def _required(value: str, field: str) -> str:
    if not value:
        raise InvalidArgument.field(field, "is required")
    return value


def _burns_given_back(invoice: Invoice) -> str:
    return f"Invoice {invoice.number or invoice.id} voided"


class CreditNotes:
    """Issues credit notes and voids invoices; CreditNoteIssued is published after each commit."""

    def __init__(
        self,
        transactions: Transactions[CreditNoteTransaction],
        wake_relay: Callable[[], None],
        *,
        issued: Callable[[CreditNote], OutboxMessage],
        paid: Callable[[Invoice], OutboxMessage],
        clock: Callable[[], datetime] = _now,
        new_id: Callable[[], str] = _new_id,
    ) -> None:
        self._transactions = transactions
        self._wake_relay = wake_relay
        self._issued = issued
        self._paid = paid
        self._clock = clock
        self._new_id = new_id

    async def create(
        self, invoice_id: str, extent: Extent, reason: CreditNoteReason, memo: str
    ) -> CreditNote:
        _required(invoice_id, "invoice_id")
        trace.get_current_span().set_attribute(attributes.INVOICE, invoice_id)
        prefix = await issuing_prefix(self._transactions, invoice_id)
        note = await asyncio.to_thread(
            self._issue, invoice_id, prefix, extent, reason, memo, self._new_id(), self._clock()
        )
        self._wake_relay()
        _log.info("credit note %s issued on invoice %s for %s", note.number, invoice_id, note.total)
        return note

    def _issue(
        self,
        invoice_id: str,
        prefix: str,
        extent: Extent,
        reason: CreditNoteReason,
        memo: str,
        note_id: str,
        now: datetime,
    ) -> CreditNote:
        with numbered(self._transactions, credit_note_prefix, prefix, invoice_id, at=now) as (
            tx,
            number,
            invoice,
        ):
            earlier = credited_by(tx.credit_notes.of_invoice(invoice_id))
            lines = credit_lines(invoice, extent, earlier, credit_note_id=note_id)
            if not lines:
                raise nothing_left(invoice)
            note = credit_note(
                invoice, lines, id=note_id, number=number, reason=reason, memo=memo, issued_at=now
            )
            # The note takes off what the invoice still owes; beyond it, it is the customer's credit.
            applied = apply_credit_note(invoice, note.total, now)
            note = replace(note, applied=applied.applied.amount, carried=applied.carried.amount)
            tx.credit_notes.add(note, now=now)
            if not applied.applied.is_zero():
                tx.invoices.settle(applied.invoice, now=now)
            if not applied.carried.is_zero():
                # Beyond what the invoice owes: prepaid credit burned on it goes back to its grants first, and
                # only the rest (money the customer paid) becomes new credit.
                returned = give_back_burns(
                    tx.ledger,
                    invoice_id,
                    at=now,
                    description=f"Credit note {note.number} on invoice {invoice.number}",
                    limit=applied.carried.amount,
                )
                if returned < applied.carried.amount:
                    carried = carried_credit(
                        grant_id=f"credit-{note.id}",
                        customer_id=invoice.customer_id,
                        amount=applied.carried - Money(returned, invoice.currency),
                        at=now,
                        description=f"Credit note {note.number} beyond invoice {invoice.number}",
                        origin=GrantOrigin.CREDIT_NOTE,
                    )
                    record_grants(tx.ledger, [carried], now=now)
            tx.outbox.add(self._issued(note))
            if applied.settled:
                tx.outbox.add(self._paid(applied.invoice))
            tx.commit()
            return note

    async def void(self, invoice_id: str, reason: str) -> Voided:
        """FINALIZED → VOID with a credit note for what is left to credit and the invoice's prepaid credit given
        back; voiding again changes nothing."""
        _required(invoice_id, "invoice_id")
        trace.get_current_span().set_attribute(attributes.INVOICE, invoice_id)
        prefix = await issuing_prefix(self._transactions, invoice_id)
        voided = await asyncio.to_thread(
            self._void, invoice_id, prefix, reason, self._new_id(), self._clock()
        )
        self._wake_relay()
        _log.info(
            "invoice %s void, credit note %s",
            invoice_id,
            "none (nothing left to credit)" if voided.credit_note is None else voided.credit_note.number,
        )
        return voided

    def _void(self, invoice_id: str, prefix: str, memo: str, note_id: str, now: datetime) -> Voided:
        """In one transaction: the credit note for everything left to credit, VOID, the prepaid credit burned
        on the invoice given back, CreditNoteIssued in the outbox. A VOID invoice is returned as it is with its
        credit note (a retry: the number attempt rolls back)."""
        with numbered(self._transactions, credit_note_prefix, prefix, invoice_id, at=now) as (
            tx,
            number,
            invoice,
        ):
            notes = tx.credit_notes.of_invoice(invoice_id)
            if invoice.status is InvoiceStatus.VOID:
                return Voided(invoice, void_note(notes))
            check_voidable(invoice)
            lines = credit_lines(invoice, FullCredit(), credited_by(notes), credit_note_id=note_id)
            if lines:
                note = credit_note(
                    invoice,
                    lines,
                    id=note_id,
                    number=number,
                    reason=CreditNoteReason.INVOICE_VOIDED,
                    memo=memo,
                    issued_at=now,
                )
                # A void note cancels what is owed; prepaid credit burned on the invoice goes back to its grants
                # below, so nothing is carried forward.
                note = replace(note, applied=min(note.total, invoice.amount_remaining).amount)
                tx.credit_notes.add(note, now=now)
                tx.invoices.void(invoice_id, now=now)
                give_back_burns(tx.ledger, invoice_id, at=now, description=_burns_given_back(invoice))
                voided = tx.invoices.get(invoice_id)
                if voided is None:  # pragma: no cover - the row is locked by this transaction
                    raise NotFound("invoice", invoice_id, field="invoice_id")
                tx.outbox.add(self._issued(note))
                tx.commit()
                return Voided(voided, note)
        # Earlier credit notes credited everything: the number above is not needed (it rolled back).
        return self._void_uncredited(invoice_id, now)

    def _void_uncredited(self, invoice_id: str, now: datetime) -> Voided:
        """Voids an invoice earlier credit notes credited in full: no new credit note, so no number.

        The first statement is the status change, a write, for the same locking reason as a number; credit
        notes issued in between could only have credited more, so there is still nothing to credit.
        """
        with self._transactions.begin() as tx:
            changed = tx.invoices.void(invoice_id, now=now)
            invoice = tx.invoices.get(invoice_id)
            if invoice is None:
                raise NotFound("invoice", invoice_id, field="invoice_id")
            if not changed:
                if invoice.status is InvoiceStatus.VOID:
                    return Voided(invoice, void_note(tx.credit_notes.of_invoice(invoice_id)))
                check_voidable(invoice)
            give_back_burns(tx.ledger, invoice_id, at=now, description=_burns_given_back(invoice))
            tx.commit()
            return Voided(invoice, None)

    async def get(self, credit_note_id: str) -> CreditNote:
        _required(credit_note_id, "credit_note_id")
        note = await read(self._transactions, lambda tx: tx.credit_notes.get(credit_note_id))
        if note is None:
            raise NotFound("credit note", credit_note_id, field="credit_note_id")
        return note

    async def list(
        self, where: CreditNoteFilter, *, after: CreditNoteKey | None, limit: int
    ) -> list[CreditNote]:
        return await read(
            self._transactions, lambda tx: tx.credit_notes.find(where, after=after, limit=limit)
        )
