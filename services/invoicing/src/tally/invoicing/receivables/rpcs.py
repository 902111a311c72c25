"""Receivables' RPCs (RecordPayment, GetCustomerStatement, GetCustomerStatementPdf) between the wire and the use
cases."""

from __future__ import annotations

from datetime import datetime

from tally.api.invoicing.v1 import invoicing_service_pb2 as pb
from tally.domain.errors import InvalidArgument
from tally.invoicing.documents.handlers import Pdfs
from tally.invoicing.domain import Payment
from tally.invoicing.messages import invoice_to_wire
from tally.invoicing.receivables.domain import PaymentOutcome, Statement
from tally.invoicing.receivables.handlers import Receivables
from tally.mesh.wire import money_from_wire, money_to_wire, timestamp_from_wire, timestamp_to_wire

MANUAL = "MANUAL"
"""What a payment recorded by RecordPayment is recorded as coming from (an ERP's payments name their ERP)."""
MAX_TEXT = 200


def _text(value: str, field: str) -> str:
    if len(value) > MAX_TEXT or "\x00" in value:
        raise InvalidArgument.field(field, f"must be at most {MAX_TEXT} characters, without NUL")
    return value.strip()


def payment_from_request(request: pb.RecordPaymentRequest, *, now: datetime) -> Payment:
    """The payment a RecordPayment asks to record, received ``now`` unless it says when; its id is kept apart from
    the ERPs' payment ids."""
    if not request.invoice_id:
        raise InvalidArgument.field("invoice_id", "is required")
    payment_id = _text(request.payment_id, "payment_id")
    if not payment_id:
        raise InvalidArgument.field(
            "payment_id", "is required: it keeps a retried payment from counting twice"
        )
    if not request.HasField("amount"):
        raise InvalidArgument.field("amount", "is required")
    received = timestamp_from_wire(request.received_at) or now
    return Payment(
        payment_id=f"manual:{payment_id}",
        invoice_id=request.invoice_id,
        erp=MANUAL,
        amount=money_from_wire(request.amount, field="amount"),
        received_at=received,
        erp_reference=_text(request.reference, "reference"),
    )


def statement_to_wire(statement: Statement) -> pb.GetCustomerStatementResponse:
    return pb.GetCustomerStatementResponse(
        customer_id=statement.customer_id,
        as_of=timestamp_to_wire(statement.as_of),
        items=[
            pb.StatementItem(
                invoice_id=item.invoice.id,
                number=item.invoice.number or "",
                issued_at=None
                if item.invoice.issued_at is None
                else timestamp_to_wire(item.invoice.issued_at),
                due_at=None if item.invoice.due_at is None else timestamp_to_wire(item.invoice.due_at),
                amount_due=money_to_wire(item.invoice.amount_due),
                amount_remaining=money_to_wire(item.remaining),
                age_days=item.age_days,
                bucket=item.bucket.value,
            )
            for item in statement.items
        ],
        summaries=[
            pb.StatementSummary(
                currency=summary.currency,
                buckets=[
                    pb.StatementBucket(bucket=bucket.value, amount=money_to_wire(amount))
                    for bucket, amount in summary.buckets
                ],
                outstanding=money_to_wire(summary.outstanding),
                credit_balance=money_to_wire(summary.credit_balance),
                net=money_to_wire(summary.net),
            )
            for summary in statement.summaries
        ],
    )


class ReceivablesRpcs:
    def __init__(self, receivables: Receivables, pdfs: Pdfs) -> None:
        self._receivables = receivables
        self._pdfs = pdfs

    async def record_payment(self, request: pb.RecordPaymentRequest) -> pb.RecordPaymentResponse:
        recorded = await self._receivables.record_payment(
            payment_from_request(request, now=self._receivables.now())
        )
        reply = pb.RecordPaymentResponse(duplicate=recorded.outcome is PaymentOutcome.DUPLICATE)
        if recorded.invoice is not None:
            reply.invoice.CopyFrom(invoice_to_wire(recorded.invoice))
        if recorded.applied is not None:
            reply.amount_applied.CopyFrom(money_to_wire(recorded.applied))
        if recorded.carried is not None:
            reply.amount_carried_forward.CopyFrom(money_to_wire(recorded.carried))
        return reply

    async def statement(self, request: pb.GetCustomerStatementRequest) -> pb.GetCustomerStatementResponse:
        as_of = timestamp_from_wire(request.as_of) if request.HasField("as_of") else None
        return statement_to_wire(await self._receivables.statement(request.customer_id, as_of))

    async def statement_pdf(
        self, request: pb.GetCustomerStatementPdfRequest
    ) -> pb.GetCustomerStatementPdfResponse:
        as_of = timestamp_from_wire(request.as_of) if request.HasField("as_of") else None
        statement = await self._receivables.statement(request.customer_id, as_of)
        pdf, filename = await self._pdfs.statement(statement)
        return pb.GetCustomerStatementPdfResponse(pdf=pdf, filename=filename)
