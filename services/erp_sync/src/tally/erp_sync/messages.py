"""erp-sync's wire shapes: sync records to tally.api.erp_sync.v1, document ids from invoicing's events."""

from __future__ import annotations

from tally.api.erp_sync.v1 import erp_sync_service_pb2 as pb
from tally.api.invoicing.v1 import events_pb2 as invoicing_events
from tally.domain.errors import InvalidArgument
from tally.erp_sync.domain import DocumentKind, Erp, SyncRecord, SyncState
from tally.mesh.wire import timestamp_to_wire


def finalized_invoice_id(data: bytes) -> str:
    invoice_id = invoicing_events.InvoiceFinalized.FromString(data).invoice.id
    if not invoice_id:
        raise InvalidArgument.field("invoice.id", "is required")
    return invoice_id


def issued_credit_note_id(data: bytes) -> str:
    credit_note_id = invoicing_events.CreditNoteIssued.FromString(data).credit_note.id
    if not credit_note_id:
        raise InvalidArgument.field("credit_note.id", "is required")
    return credit_note_id


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
