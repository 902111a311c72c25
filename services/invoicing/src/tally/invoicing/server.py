"""Invoicing's gRPC servicer: translates wire messages to use-case calls, nothing more."""

from __future__ import annotations

import grpc.aio

from tally.api.common.v1 import pagination_pb2
from tally.api.invoicing.v1 import invoicing_service_pb2 as pb
from tally.api.invoicing.v1 import invoicing_service_pb2_grpc as pb_grpc
from tally.invoicing.billing.rpcs import BillingRpcs
from tally.invoicing.credit_ledger.rpcs import CreditLedgerRpcs
from tally.invoicing.credit_notes.domain import CreditNoteFilter
from tally.invoicing.credit_notes.handlers import CreditNotes
from tally.invoicing.credit_notes.messages import (
    credit_note_to_wire,
    extent_from_wire,
    page_key,
    reason_from_wire,
)
from tally.invoicing.delivery.rpcs import DeliveryRpcs
from tally.invoicing.documents.handlers import Pdfs
from tally.invoicing.domain import InvoiceFilter, InvoiceKey
from tally.invoicing.handlers import Invoices
from tally.invoicing.messages import invoice_to_wire, period_from_wire, status_from_wire
from tally.invoicing.receivables.rpcs import ReceivablesRpcs
from tally.persistence.paging import decode_time_key, page_of, page_size, time_key

SERVICE = "tally.api.invoicing.v1.InvoicingService"
SCOPES = {
    f"/{SERVICE}/GetInvoice": "invoices:read",
    f"/{SERVICE}/ListInvoices": "invoices:read",
    f"/{SERVICE}/FinalizeInvoice": "invoices:write",
    f"/{SERVICE}/VoidInvoice": "invoices:write",
    f"/{SERVICE}/CreateCreditNote": "invoices:write",
    f"/{SERVICE}/GetCreditNote": "invoices:read",
    f"/{SERVICE}/ListCreditNotes": "invoices:read",
    f"/{SERVICE}/GetInvoicePdf": "invoices:read",
    f"/{SERVICE}/GetCreditNotePdf": "invoices:read",
    f"/{SERVICE}/RunBilling": "invoices:write",
    f"/{SERVICE}/PreviewInvoice": "invoices:read",
    f"/{SERVICE}/SetBillingControls": "invoices:write",
    f"/{SERVICE}/GetBillingControls": "invoices:read",
    f"/{SERVICE}/GetCreditBalance": "invoices:read",
    f"/{SERVICE}/ListCreditLedger": "invoices:read",
    f"/{SERVICE}/RecordPayment": "invoices:write",
    f"/{SERVICE}/GetCustomerStatement": "invoices:read",
    f"/{SERVICE}/GetCustomerStatementPdf": "invoices:read",
    f"/{SERVICE}/ListBillingRuns": "invoices:read",
    f"/{SERVICE}/ListDeliveries": "invoices:read",
    f"/{SERVICE}/ResendDocument": "invoices:write",
}
"""Every RPC and the scope it needs; an RPC missing here is refused by auth (PERMISSION_DENIED)."""

_PAGE_TOKEN = "page.page_token"


def _key(token: str) -> InvoiceKey | None:
    decoded = decode_time_key(token)
    return None if decoded is None else InvoiceKey(*decoded)


class InvoicingServicer(pb_grpc.InvoicingServiceServicer):
    def __init__(
        self,
        invoices: Invoices,
        *,
        credit_notes: CreditNotes,
        pdfs: Pdfs,
        billing: BillingRpcs,
        credit_ledger: CreditLedgerRpcs,
        receivables: ReceivablesRpcs,
        deliveries: DeliveryRpcs,
    ) -> None:
        self._deliveries = deliveries
        self._invoices = invoices
        self._receivables = receivables
        self._billing = billing
        self._credit_notes = credit_notes
        self._pdfs = pdfs
        self._credit_ledger = credit_ledger

    async def GetInvoice(
        self, request: pb.GetInvoiceRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetInvoiceResponse:
        return pb.GetInvoiceResponse(invoice=invoice_to_wire(await self._invoices.get(request.invoice_id)))

    async def FinalizeInvoice(
        self, request: pb.FinalizeInvoiceRequest, context: grpc.aio.ServicerContext
    ) -> pb.FinalizeInvoiceResponse:
        finalized = await self._invoices.finalize(request.invoice_id)
        return pb.FinalizeInvoiceResponse(invoice=invoice_to_wire(finalized))

    async def ListInvoices(
        self, request: pb.ListInvoicesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListInvoicesResponse:
        limit = page_size(request.page.page_size)
        where = InvoiceFilter(
            customer_id=request.customer_id or None,
            status=status_from_wire(request.status),
            overlapping=period_from_wire(request.period, field="period"),
        )
        found = await self._invoices.list(where, after=_key(request.page.page_token), limit=limit + 1)
        page, token = page_of(found, limit, lambda invoice: time_key(invoice.created_at, invoice.id))
        return pb.ListInvoicesResponse(
            invoices=[invoice_to_wire(invoice) for invoice in page],
            page=pagination_pb2.PageResponse(next_page_token=token),
        )

    async def VoidInvoice(
        self, request: pb.VoidInvoiceRequest, context: grpc.aio.ServicerContext
    ) -> pb.VoidInvoiceResponse:
        voided = await self._credit_notes.void(request.invoice_id, request.reason)
        reply = pb.VoidInvoiceResponse(invoice=invoice_to_wire(voided.invoice))
        if voided.credit_note is not None:
            reply.credit_note.CopyFrom(credit_note_to_wire(voided.credit_note))
        return reply

    async def CreateCreditNote(
        self, request: pb.CreateCreditNoteRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateCreditNoteResponse:
        note = await self._credit_notes.create(
            request.invoice_id, extent_from_wire(request), reason_from_wire(request.reason), request.memo
        )
        return pb.CreateCreditNoteResponse(credit_note=credit_note_to_wire(note))

    async def GetCreditNote(
        self, request: pb.GetCreditNoteRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetCreditNoteResponse:
        note = await self._credit_notes.get(request.credit_note_id)
        return pb.GetCreditNoteResponse(credit_note=credit_note_to_wire(note))

    async def ListCreditNotes(
        self, request: pb.ListCreditNotesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListCreditNotesResponse:
        limit = page_size(request.page.page_size)
        where = CreditNoteFilter(
            customer_id=request.customer_id or None, invoice_id=request.invoice_id or None
        )
        found = await self._credit_notes.list(where, after=page_key(request.page.page_token), limit=limit + 1)
        page, token = page_of(found, limit, lambda note: time_key(note.issued_at, note.id))
        return pb.ListCreditNotesResponse(
            credit_notes=[credit_note_to_wire(note) for note in page],
            page=pagination_pb2.PageResponse(next_page_token=token),
        )

    async def GetInvoicePdf(
        self, request: pb.GetInvoicePdfRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetInvoicePdfResponse:
        pdf, filename = await self._pdfs.invoice(request.invoice_id)
        return pb.GetInvoicePdfResponse(pdf=pdf, filename=filename)

    async def GetCreditNotePdf(
        self, request: pb.GetCreditNotePdfRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetCreditNotePdfResponse:
        pdf, filename = await self._pdfs.credit_note(request.credit_note_id)
        return pb.GetCreditNotePdfResponse(pdf=pdf, filename=filename)

    async def RunBilling(
        self, request: pb.RunBillingRequest, context: grpc.aio.ServicerContext
    ) -> pb.RunBillingResponse:
        return await self._billing.run(request)

    async def PreviewInvoice(
        self, request: pb.PreviewInvoiceRequest, context: grpc.aio.ServicerContext
    ) -> pb.PreviewInvoiceResponse:
        return await self._billing.preview(request)

    async def SetBillingControls(
        self, request: pb.SetBillingControlsRequest, context: grpc.aio.ServicerContext
    ) -> pb.SetBillingControlsResponse:
        return await self._billing.set_controls(request)

    async def GetBillingControls(
        self, request: pb.GetBillingControlsRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetBillingControlsResponse:
        return await self._billing.get_controls(request)

    async def GetCreditBalance(
        self, request: pb.GetCreditBalanceRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetCreditBalanceResponse:
        return await self._credit_ledger.balance(request)

    async def ListCreditLedger(
        self, request: pb.ListCreditLedgerRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListCreditLedgerResponse:
        return await self._credit_ledger.entries(request)

    async def RecordPayment(
        self, request: pb.RecordPaymentRequest, context: grpc.aio.ServicerContext
    ) -> pb.RecordPaymentResponse:
        return await self._receivables.record_payment(request)

    async def GetCustomerStatement(
        self, request: pb.GetCustomerStatementRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetCustomerStatementResponse:
        return await self._receivables.statement(request)

    async def GetCustomerStatementPdf(
        self, request: pb.GetCustomerStatementPdfRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetCustomerStatementPdfResponse:
        return await self._receivables.statement_pdf(request)

    async def ListBillingRuns(
        self, request: pb.ListBillingRunsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListBillingRunsResponse:
        return await self._billing.runs(request)

    async def ListDeliveries(
        self, request: pb.ListDeliveriesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListDeliveriesResponse:
        return await self._deliveries.list(request)

    async def ResendDocument(
        self, request: pb.ResendDocumentRequest, context: grpc.aio.ServicerContext
    ) -> pb.ResendDocumentResponse:
        return await self._deliveries.resend(request)
