"""Deliveries (pure): one e-mail per issued document and per resend, its recipients, its state, when it is tried
again, and what the e-mail says.

- A delivery is created PENDING when its document is issued (or resent), addressed to the customer's billing
  contacts as snapshotted on the invoice (its e-mail when it has none); without any it is NO_RECIPIENT.
- An attempt the SMTP server accepts makes it SENT. A failed attempt is logged and tried again after the next wait
  of the schedule; when the schedule is spent, the delivery is FAILED (a resend starts a new one).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from tally.invoicing.credit_notes.domain import CreditNote
from tally.invoicing.documents.rendering import document_locale
from tally.invoicing.documents.views import format_date, format_span
from tally.invoicing.domain import Invoice
from tally.money.formatting import format_money

DEFAULT_RETRY = tuple(timedelta(seconds=s) for s in (5, 30, 120, 600, 3600, 21600))
"""Waits before each retry: seconds to hours, about seven hours in all."""


class DocumentKind(enum.StrEnum):
    INVOICE = "INVOICE"
    CREDIT_NOTE = "CREDIT_NOTE"


class DeliveryState(enum.StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    FAILED = "FAILED"
    NO_RECIPIENT = "NO_RECIPIENT"


class Outcome(enum.StrEnum):
    SENT = "SENT"
    FAILED = "FAILED"


@dataclass(frozen=True, slots=True)
class Attempt:
    attempted_at: datetime
    outcome: Outcome
    detail: str
    """The server's answer, or the error."""


@dataclass(frozen=True, slots=True)
class Delivery:
    id: str
    document_kind: DocumentKind
    document_id: str
    document_number: str
    customer_id: str
    recipients: tuple[str, ...]
    state: DeliveryState
    created_at: datetime
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str = ""
    message_id: str = ""
    sent_at: datetime | None = None
    log: tuple[Attempt, ...] = ()


@dataclass(frozen=True, slots=True)
class DeliveryKey:
    """Where a page of deliveries (newest first) ended."""

    created_at: datetime
    id: str


def new_delivery(
    delivery_id: str,
    kind: DocumentKind,
    document_id: str,
    number: str,
    invoice: Invoice,
    now: datetime,
) -> Delivery:
    """The delivery of a document of ``invoice``'s customer, due now, or NO_RECIPIENT without a contact."""
    recipients = () if invoice.customer is None else invoice.customer.recipients
    return Delivery(
        id=delivery_id,
        document_kind=kind,
        document_id=document_id,
        document_number=number,
        customer_id=invoice.customer_id,
        recipients=recipients,
        state=DeliveryState.PENDING if recipients else DeliveryState.NO_RECIPIENT,
        created_at=now,
        next_attempt_at=now if recipients else None,
    )


def after_attempt(
    delivery: Delivery, attempt: Attempt, schedule: Sequence[timedelta], *, message_id: str = ""
) -> Delivery:
    """The delivery once ``attempt`` was made: SENT, due again after the next wait, or FAILED."""
    attempts = delivery.attempts + 1
    logged = (*delivery.log, attempt)
    if attempt.outcome is Outcome.SENT:
        return replace(
            delivery,
            attempts=attempts,
            state=DeliveryState.SENT,
            next_attempt_at=None,
            sent_at=attempt.attempted_at,
            message_id=message_id,
            last_error="",
            log=logged,
        )
    if attempts <= len(schedule):
        state, next_at = DeliveryState.PENDING, attempt.attempted_at + schedule[attempts - 1]
    else:
        state, next_at = DeliveryState.FAILED, None
    return replace(
        delivery,
        attempts=attempts,
        state=state,
        next_attempt_at=next_at,
        last_error=attempt.detail,
        log=logged,
    )


@dataclass(frozen=True, slots=True)
class Email:
    """What is sent: who from (the issuer's name), who to, what it says, and the PDF it carries."""

    sender_name: str
    reply_to: str
    recipients: tuple[str, ...]
    subject: str
    body: str
    attachment_name: str
    attachment: bytes


def _sender(invoice: Invoice, default_issuer: str) -> tuple[str, str]:
    issuer = invoice.issuer
    return (default_issuer, "") if issuer is None else (issuer.legal_name, issuer.email)


def invoice_email(invoice: Invoice, pdf: bytes, filename: str, default_issuer: str) -> Email:
    """A finalized invoice: its number, what it bills and when it is due, in the customer's locale."""
    locale = document_locale(invoice.customer, invoice.issuer)
    name, reply_to = _sender(invoice, default_issuer)
    due = "" if invoice.due_at is None else f", due by {format_date(invoice.due_at.date(), locale)}"
    greeting = "Hello" if invoice.customer is None else f"Hello {invoice.customer.name}"
    body = (
        f"{greeting},\n\n"
        f"please find attached invoice {invoice.number} from {name} for "
        f"{format_span(invoice.period.start, invoice.period.end, locale)}.\n\n"
        f"Amount due: {format_money(invoice.amount_due, locale)}{due}.\n\n"
        f"{name}\n"
    )
    return Email(
        name,
        reply_to,
        () if invoice.customer is None else invoice.customer.recipients,
        f"Invoice {invoice.number} from {name}",
        body,
        filename,
        pdf,
    )


def credit_note_email(
    note: CreditNote, invoice: Invoice, pdf: bytes, filename: str, default_issuer: str
) -> Email:
    """An issued credit note: what it credits, and where the credit went."""
    locale = document_locale(invoice.customer, invoice.issuer)
    name, reply_to = _sender(invoice, default_issuer)
    greeting = "Hello" if invoice.customer is None else f"Hello {invoice.customer.name}"
    went = []
    if note.applied:
        went.append(f"{format_money(note.amount_applied, locale)} off invoice {note.invoice_number}")
    if note.carried:
        went.append(f"{format_money(note.carried_forward, locale)} added to your credit balance")
    body = (
        f"{greeting},\n\n"
        f"please find attached credit note {note.number} from {name}, crediting invoice {note.invoice_number} "
        f"with {format_money(note.total, locale)}"
        + (f": {' and '.join(went)}" if went else "")
        + f".\n\n{name}\n"
    )
    return Email(
        name,
        reply_to,
        () if invoice.customer is None else invoice.customer.recipients,
        f"Credit note {note.number} from {name}",
        body,
        filename,
        pdf,
    )
