"""Credit notes on the wire: requests to extents and reasons, credit notes to tally.api.invoicing.v1 messages."""

from __future__ import annotations

from tally.api.invoicing.v1 import invoicing_service_pb2 as pb
from tally.domain.errors import InvalidArgument
from tally.invoicing.credit_notes.domain import (
    CreditedLine,
    CreditNote,
    CreditNoteKey,
    CreditNoteLine,
    CreditNoteReason,
    Extent,
    FullCredit,
    LineCredit,
    LumpSumCredit,
)
from tally.mesh.wire import decimal_to_wire, money_from_wire, money_to_wire, timestamp_to_wire
from tally.money import parse_decimal
from tally.persistence.paging import decode_time_key

PAGE_TOKEN = "page.page_token"


def reason_from_wire(reason: int) -> CreditNoteReason:
    """The reason a request gives; UNSPECIFIED (or a value this build does not know) names ``reason``."""
    if reason == pb.CREDIT_NOTE_REASON_UNSPECIFIED or reason not in pb.CreditNoteReason.values():
        names = ", ".join(f"CREDIT_NOTE_REASON_{value.value}" for value in CreditNoteReason)
        raise InvalidArgument.field("reason", f"is required: one of {names}")
    return CreditNoteReason(pb.CreditNoteReason.Name(reason).removeprefix("CREDIT_NOTE_REASON_"))


def reason_to_wire(reason: CreditNoteReason) -> pb.CreditNoteReason:
    return pb.CreditNoteReason.Value(f"CREDIT_NOTE_REASON_{reason.value}")


def extent_from_wire(request: pb.CreateCreditNoteRequest) -> Extent:
    """What the request asks to credit; field names follow the request (``lines[1].amount``)."""
    which = request.WhichOneof("extent")
    if which is None:
        raise InvalidArgument.field("extent", "is required: set full, lines or amount")
    if which == "full":
        if not request.full:
            raise InvalidArgument.field("full", "must be true to credit the whole invoice")
        return FullCredit()
    if which == "lines":
        return LineCredit(
            tuple(
                CreditedLine(
                    line.invoice_line_id,
                    None if line.amount == "" else parse_decimal(line.amount, field=f"lines[{index}].amount"),
                )
                for index, line in enumerate(request.lines.lines)
            )
        )
    return LumpSumCredit(money_from_wire(request.amount, field="amount"))


def _line_to_wire(line: CreditNoteLine) -> pb.CreditNoteLine:
    return pb.CreditNoteLine(
        id=line.id,
        invoice_line_id=line.invoice_line_id,
        description=line.description,
        quantity="" if line.quantity is None else decimal_to_wire(line.quantity),
        amount=money_to_wire(line.amount),
        tax=money_to_wire(line.tax),
        event_ids=line.event_ids,
    )


def credit_note_to_wire(note: CreditNote) -> pb.CreditNote:
    return pb.CreditNote(
        id=note.id,
        number=note.number,
        invoice_id=note.invoice_id,
        invoice_number=note.invoice_number,
        customer_id=note.customer_id,
        currency=note.currency,
        reason=reason_to_wire(note.reason),
        memo=note.memo,
        lines=[_line_to_wire(line) for line in note.lines],
        subtotal=money_to_wire(note.subtotal),
        tax=money_to_wire(note.tax),
        total=money_to_wire(note.total),
        issued_at=timestamp_to_wire(note.issued_at),
        amount_applied=money_to_wire(note.amount_applied),
        amount_carried_forward=money_to_wire(note.carried_forward),
    )


def page_key(token: str) -> CreditNoteKey | None:
    decoded = decode_time_key(token)
    return None if decoded is None else CreditNoteKey(*decoded)
