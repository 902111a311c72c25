"""erp-sync's wire shapes: documents from invoicing's events, sync records, mismatches and PaymentRecorded."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal

from tally.api.common.v1 import money_pb2
from tally.api.erp_sync.v1 import erp_sync_service_pb2 as pb
from tally.api.erp_sync.v1 import events_pb2 as erp_events
from tally.api.invoicing.v1 import events_pb2 as invoicing_events
from tally.api.invoicing.v1 import invoicing_service_pb2 as invoicing_pb
from tally.domain.errors import InvalidArgument
from tally.erp_sync.documents import Document, DocumentLine
from tally.erp_sync.domain import DocumentKind, Erp, SyncRecord, SyncState
from tally.erp_sync.reconciliation import Mismatch
from tally.erp_sync.store import StoredDocument
from tally.mesh.wire import money_from_wire, money_to_wire, timestamp_from_wire, timestamp_to_wire
from tally.money import Money


def _required(value: str, field: str) -> str:
    if not value:
        raise InvalidArgument.field(field, "is required")
    return value


def _money_or_zero(message: money_pb2.Money, currency: str, *, field: str) -> Money:
    return money_from_wire(message, field=field) if message.amount else Money(Decimal(0), currency)


def _issued(stamp_field: str, stamp: datetime | None) -> datetime:
    if stamp is None:
        raise InvalidArgument.field(stamp_field, "is required: only issued documents are posted")
    return stamp


def _checked(document: Document, expected: Money, field: str) -> Document:
    """The lines must add up to what the ERP's document will total, or the books would disagree."""
    if document.receivable != expected:
        raise InvalidArgument.field(
            field, f"is {expected} but the lines and their tax add up to {document.receivable}"
        )
    return document


def _invoice(invoice: invoicing_pb.Invoice) -> Document:
    currency = _required(invoice.currency, "invoice.currency")
    lines = tuple(
        DocumentLine(
            description=line.description,
            amount=money_from_wire(line.amount, field=f"invoice.lines[{i}].amount"),
            tax=_money_or_zero(line.tax, currency, field=f"invoice.lines[{i}].tax"),
            charge_id=line.charge_id,
            prepaid_credit=line.kind == invoicing_pb.INVOICE_LINE_KIND_CREDIT,
        )
        for i, line in enumerate(invoice.lines)
    )
    if not lines:
        raise InvalidArgument.field("invoice.lines", "an invoice without lines cannot be posted")
    due = timestamp_from_wire(invoice.due_at)
    document = Document(
        kind=DocumentKind.INVOICE,
        id=_required(invoice.id, "invoice.id"),
        number=_required(invoice.number, "invoice.number"),
        customer_id=_required(invoice.customer_id, "invoice.customer_id"),
        customer_external_id=invoice.customer_external_id,
        customer_name=invoice.customer_name,
        currency=currency,
        issued_on=_issued("invoice.issued_at", timestamp_from_wire(invoice.issued_at)).date(),
        due_on=due.date() if due else None,
        lines=lines,
    )
    return _checked(
        document, money_from_wire(invoice.amount_due, field="invoice.amount_due"), "invoice.amount_due"
    )


def _credit_note(note: invoicing_pb.CreditNote) -> Document:
    currency = _required(note.currency, "credit_note.currency")
    lines = tuple(
        DocumentLine(
            description=line.description,
            amount=money_from_wire(line.amount, field=f"credit_note.lines[{i}].amount"),
            tax=_money_or_zero(line.tax, currency, field=f"credit_note.lines[{i}].tax"),
        )
        for i, line in enumerate(note.lines)
    )
    if not lines:
        raise InvalidArgument.field("credit_note.lines", "a credit note without lines cannot be posted")
    document = Document(
        kind=DocumentKind.CREDIT_NOTE,
        id=_required(note.id, "credit_note.id"),
        number=_required(note.number, "credit_note.number"),
        customer_id=_required(note.customer_id, "credit_note.customer_id"),
        customer_external_id=note.customer_id,
        customer_name="",
        currency=currency,
        issued_on=_issued("credit_note.issued_at", timestamp_from_wire(note.issued_at)).date(),
        lines=lines,
        credited_invoice_id=note.invoice_id,
    )
    return _checked(document, money_from_wire(note.total, field="credit_note.total"), "credit_note.total")


def document_from_payload(kind: DocumentKind, payload: bytes) -> Document:
    """The document a stored payload (invoicing's Invoice or CreditNote message) describes."""
    if kind is DocumentKind.INVOICE:
        return _invoice(invoicing_pb.Invoice.FromString(payload))
    return _credit_note(invoicing_pb.CreditNote.FromString(payload))


def stored_document(kind: DocumentKind, data: bytes, headers: Mapping[str, str]) -> StoredDocument:
    """The document an InvoiceFinalized or CreditNoteIssued message announces, checked and ready to keep."""
    message: invoicing_pb.Invoice | invoicing_pb.CreditNote
    if kind is DocumentKind.INVOICE:
        message = invoicing_events.InvoiceFinalized.FromString(data).invoice
        issued = timestamp_from_wire(message.issued_at)
    else:
        message = invoicing_events.CreditNoteIssued.FromString(data).credit_note
        issued = timestamp_from_wire(message.issued_at)
    payload = message.SerializeToString()
    document = document_from_payload(kind, payload)
    assert issued is not None  # checked by document_from_payload
    trace = {k: v for k, v in headers.items() if k.lower() in ("traceparent", "tracestate")}
    return StoredDocument(
        kind=kind,
        id=document.id,
        number=document.number,
        currency=document.currency,
        receivable=format(document.receivable.amount, "f"),
        issued_at=issued,
        payload=payload,
        trace_context=json.dumps(trace),
    )


def payment_recorded(
    payment_id: str,
    erp: Erp,
    invoice_id: str,
    number: str,
    amount: Money,
    received_on: date | None,
    reference: str,
) -> bytes:
    event = erp_events.PaymentRecorded(
        payment_id=payment_id,
        erp=f"ERP_{erp.value}",
        invoice_id=invoice_id,
        invoice_number=number,
        amount=money_to_wire(amount),
        erp_reference=reference,
    )
    if received_on is not None:
        event.received_at.CopyFrom(
            timestamp_to_wire(datetime(received_on.year, received_on.month, received_on.day, tzinfo=UTC))
        )
    return event.SerializeToString()


def erp_from_wire(erp: pb.Erp) -> Erp | None:
    return None if erp == pb.ERP_UNSPECIFIED else Erp(pb.Erp.Name(erp).removeprefix("ERP_"))


def state_from_wire(state: pb.SyncState) -> SyncState | None:
    return (
        None
        if state == pb.SYNC_STATE_UNSPECIFIED
        else SyncState(pb.SyncState.Name(state).removeprefix("SYNC_STATE_"))
    )


def kind_from_wire(kind: pb.DocumentKind) -> DocumentKind | None:
    if kind == pb.DOCUMENT_KIND_UNSPECIFIED:
        return None
    return DocumentKind(pb.DocumentKind.Name(kind).removeprefix("DOCUMENT_KIND_"))


def record_to_wire(record: SyncRecord) -> pb.SyncRecord:
    return pb.SyncRecord(
        id=record.id,
        erp=f"ERP_{record.erp.value}",
        document_kind=f"DOCUMENT_KIND_{record.document_kind.value}",
        document_id=record.document_id,
        erp_key=record.erp_key,
        erp_internal_id=record.erp_internal_id or "",
        state=f"SYNC_STATE_{record.state.value}",
        attempts=record.attempts,
        last_error=record.last_error,
        updated_at=timestamp_to_wire(record.updated_at),
        created_at=timestamp_to_wire(record.created_at),
    )


def mismatch_to_wire(mismatch: Mismatch) -> pb.ReconciliationMismatch:
    reply = pb.ReconciliationMismatch(
        kind=f"MISMATCH_KIND_{mismatch.kind.value}",
        document_kind=f"DOCUMENT_KIND_{mismatch.document_kind.value}",
        document_id=mismatch.document_id,
        document_number=mismatch.number,
        erp_key=mismatch.key,
        detail=mismatch.detail,
    )
    if mismatch.tally_amount is not None:
        reply.tally_amount.CopyFrom(money_to_wire(mismatch.tally_amount))
    if mismatch.erp_amount is not None:
        reply.erp_amount.CopyFrom(money_to_wire(mismatch.erp_amount))
    return reply
