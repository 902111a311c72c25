"""Delivery use cases: a delivery created for each finalized invoice and issued credit note (in the transaction that
claims the event), sent by a loop that hands due deliveries to the mail server with their PDF, logs every attempt
and retries on a schedule; resends on request; the delivery log read back."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from tally.domain.errors import FailedPrecondition, InvalidArgument, NotFound
from tally.invoicing.delivery.domain import (
    DEFAULT_RETRY,
    Attempt,
    Delivery,
    DeliveryKey,
    DocumentKind,
    Email,
    Outcome,
    after_attempt,
    credit_note_email,
    invoice_email,
    new_delivery,
)
from tally.invoicing.delivery.ports import DeliveryTransaction, MailServer
from tally.invoicing.documents.handlers import Pdfs
from tally.invoicing.domain import InvoiceStatus
from tally.invoicing.ports import Transactions, read

_log = logging.getLogger(__name__)
INVOICES_CONSUMER = "invoicing-delivery-invoices"
CREDIT_NOTES_CONSUMER = "invoicing-delivery-credit-notes"


def _now() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return f"dlv_{uuid.uuid4().hex}"


def message_id(delivery: Delivery) -> str:
    """The Message-ID header: the same on every attempt of one delivery, so a receiver sees one message."""
    return f"<{delivery.id}@tally.invoicing>"


class Deliveries:
    def __init__(
        self,
        transactions: Transactions[DeliveryTransaction],
        pdfs: Pdfs,
        mail: MailServer,
        *,
        default_issuer: str,
        schedule: Sequence[timedelta] = DEFAULT_RETRY,
        lease: timedelta = timedelta(minutes=2),
        backlog: timedelta = timedelta(days=3),
        clock: Callable[[], datetime] = _now,
        new_id: Callable[[], str] = _new_id,
    ) -> None:
        self._transactions = transactions
        self._pdfs = pdfs
        self._mail = mail
        self._default_issuer = default_issuer
        self._schedule = tuple(schedule)
        self._lease = lease
        self._backlog = backlog
        self._clock = clock
        self._new_id = new_id
        self._due = asyncio.Event()

    def wake(self) -> None:
        """Something became due: the sender looks now rather than at its next poll."""
        self._due.set()

    async def invoice_finalized(self, msg_id: str, invoice_id: str) -> Delivery | None:
        """InvoiceFinalized: a delivery of the invoice, created once (the event is claimed in the same
        transaction); None for a redelivered event or an invoice this service does not hold."""
        created = await asyncio.to_thread(self._create_for_invoice, msg_id, invoice_id)
        self.wake()
        return created

    def _create_for_invoice(self, msg_id: str, invoice_id: str) -> Delivery | None:
        with self._transactions.begin() as tx:
            if not tx.inbox.claim(INVOICES_CONSUMER, msg_id):
                return None
            invoice = tx.invoices.get(invoice_id, lines=False)
            if invoice is None or invoice.number is None:
                tx.commit()
                _log.warning(
                    "InvoiceFinalized for invoice %s, not an issued invoice here: not delivered", invoice_id
                )
                return None
            if self._stale(invoice.issued_at):
                tx.commit()
                return None
            delivery = new_delivery(
                self._new_id(), DocumentKind.INVOICE, invoice.id, invoice.number, invoice, self._clock()
            )
            tx.deliveries.add(delivery)
            tx.commit()
            return delivery

    async def credit_note_issued(self, msg_id: str, credit_note_id: str) -> Delivery | None:
        """CreditNoteIssued: a delivery of the credit note, created once."""
        created = await asyncio.to_thread(self._create_for_credit_note, msg_id, credit_note_id)
        self.wake()
        return created

    def _create_for_credit_note(self, msg_id: str, credit_note_id: str) -> Delivery | None:
        with self._transactions.begin() as tx:
            if not tx.inbox.claim(CREDIT_NOTES_CONSUMER, msg_id):
                return None
            note = tx.credit_notes.get(credit_note_id)
            invoice = None if note is None else tx.invoices.get(note.invoice_id, lines=False)
            if note is None or invoice is None:
                tx.commit()
                _log.warning("CreditNoteIssued for %s, not a credit note here: not delivered", credit_note_id)
                return None
            if self._stale(note.issued_at):
                tx.commit()
                return None
            delivery = new_delivery(
                self._new_id(), DocumentKind.CREDIT_NOTE, note.id, note.number, invoice, self._clock()
            )
            tx.deliveries.add(delivery)
            tx.commit()
            return delivery

    def _stale(self, issued_at: datetime | None) -> bool:
        """A document issued more than ``backlog`` ago when its event is first read was issued before delivery
        was switched on (the stream keeps 90 days of events): it is not e-mailed now (``ResendDocument`` can)."""
        if issued_at is None or issued_at >= self._clock() - self._backlog:
            return False
        _log.info(
            "a document issued %s is older than the delivery backlog: not e-mailed", issued_at.isoformat()
        )
        return True

    async def resend(self, document_id: str) -> Delivery:
        """A new delivery of an issued invoice or credit note, due now (NotFound, FailedPrecondition on a draft,
        both naming ``document_id``)."""
        if not document_id:
            raise InvalidArgument.field("document_id", "is required")

        def create() -> Delivery:
            with self._transactions.begin() as tx:
                now = self._clock()
                invoice = tx.invoices.get(document_id, lines=False)
                if invoice is not None:
                    if invoice.status is InvoiceStatus.DRAFT or invoice.number is None:
                        raise FailedPrecondition(f"invoice {document_id!r} is a DRAFT: it was never sent")
                    delivery = new_delivery(
                        self._new_id(), DocumentKind.INVOICE, invoice.id, invoice.number, invoice, now
                    )
                else:
                    note = tx.credit_notes.get(document_id)
                    credited = None if note is None else tx.invoices.get(note.invoice_id, lines=False)
                    if note is None or credited is None:
                        raise NotFound("invoice or credit note", document_id, field="document_id")
                    delivery = new_delivery(
                        self._new_id(), DocumentKind.CREDIT_NOTE, note.id, note.number, credited, now
                    )
                tx.deliveries.add(delivery)
                tx.commit()
                return delivery

        delivery = await asyncio.to_thread(create)
        self.wake()
        return delivery

    async def list(self, document_id: str, *, after: DeliveryKey | None, limit: int) -> list[Delivery]:
        return await read(
            self._transactions, lambda tx: tx.deliveries.find(document_id, after=after, limit=limit)
        )

    async def send_due(self, limit: int = 20) -> int:
        """Sends every delivery due now (up to ``limit``), one attempt each; returns how many were attempted."""
        now = self._clock()

        def lease() -> list[Delivery]:
            with self._transactions.begin() as tx:
                found = tx.deliveries.lease_due(now, until=now + self._lease, limit=limit)
                tx.commit()
                return found

        leased = await asyncio.to_thread(lease)
        for delivery in leased:
            await self._attempt(delivery)
        return len(leased)

    async def _attempt(self, delivery: Delivery) -> None:
        try:
            email = await self._email(delivery)
            answer = await self._mail.send(email, message_id=message_id(delivery))
            attempt = Attempt(self._clock(), Outcome.SENT, answer)
        except Exception as exc:  # any failure is logged and retried on the schedule
            attempt = Attempt(self._clock(), Outcome.FAILED, f"{type(exc).__name__}: {exc}"[:500])
        done = after_attempt(delivery, attempt, self._schedule, message_id=message_id(delivery))

        def record() -> None:
            with self._transactions.begin() as tx:
                tx.deliveries.record(done, attempt)
                tx.commit()

        await asyncio.to_thread(record)
        _log.info(
            "delivery %s of %s %s to %s: %s (%s)",
            delivery.id,
            delivery.document_kind.value.lower(),
            delivery.document_number,
            ", ".join(delivery.recipients),
            done.state.value,
            attempt.detail,
        )

    async def _email(self, delivery: Delivery) -> Email:
        if delivery.document_kind is DocumentKind.INVOICE:
            invoice = await read(self._transactions, lambda tx: tx.invoices.get(delivery.document_id))
            if invoice is None:
                raise NotFound("invoice", delivery.document_id)
            pdf, filename = await self._pdfs.invoice(invoice.id)
            email = invoice_email(invoice, pdf, filename, self._default_issuer)
        else:
            note = await read(self._transactions, lambda tx: tx.credit_notes.get(delivery.document_id))
            if note is None:
                raise NotFound("credit note", delivery.document_id)
            credited = await read(
                self._transactions, lambda tx: tx.invoices.get(note.invoice_id, lines=False)
            )
            if credited is None:
                raise NotFound("invoice", note.invoice_id)
            pdf, filename = await self._pdfs.credit_note(note.id)
            email = credit_note_email(note, credited, pdf, filename, self._default_issuer)
        return replace(email, recipients=delivery.recipients)

    async def run(self, poll: timedelta = timedelta(seconds=1)) -> None:
        """Sends due deliveries until cancelled: at once when woken, else every ``poll`` (retries come due)."""
        while True:
            try:
                while await self.send_due():
                    pass
            except Exception:
                _log.exception("sending deliveries failed; trying again")
            self._due.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._due.wait(), timeout=poll.total_seconds())
