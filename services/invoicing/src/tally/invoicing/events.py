"""Invoicing's events: InvoiceFinalized and CreditNoteIssued (published via the outbox), and the durable consumer
of payments."""

from __future__ import annotations

from tally.api.invoicing.v1 import events_pb2
from tally.invoicing.credit_notes.domain import CreditNote
from tally.invoicing.credit_notes.messages import credit_note_to_wire
from tally.invoicing.domain import Invoice
from tally.invoicing.messages import invoice_to_wire
from tally.invoicing.store import OutboxMessage
from tally.mesh import streams
from tally.mesh.jetstream import ConsumerSpec


def invoice_finalized(invoice: Invoice) -> OutboxMessage:
    """InvoiceFinalized with the full snapshot; an invoice is finalized once, so its id names the event."""
    return OutboxMessage(
        subject=streams.INVOICE_FINALIZED,
        msg_id=f"invoice-finalized:{invoice.id}",
        payload=events_pb2.InvoiceFinalized(invoice=invoice_to_wire(invoice)).SerializeToString(),
    )


def credit_note_issued(note: CreditNote) -> OutboxMessage:
    """CreditNoteIssued with the full credit note; a credit note is issued once, so its id names the event."""
    return OutboxMessage(
        subject=streams.CREDIT_NOTE_ISSUED,
        msg_id=f"credit-note-issued:{note.id}",
        payload=events_pb2.CreditNoteIssued(credit_note=credit_note_to_wire(note)).SerializeToString(),
    )


PAYMENTS_CONSUMER = ConsumerSpec(
    stream=streams.ERP.name,
    durable="invoicing-payments",
    filter_subject=streams.PAYMENT_RECORDED,
)
"""Every invoicing replica pulls PaymentRecorded from this one durable consumer."""
