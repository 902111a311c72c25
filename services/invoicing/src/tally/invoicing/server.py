"""Invoicing's gRPC servicer: translates wire messages to use-case calls, nothing more."""

from __future__ import annotations

from datetime import datetime

import grpc.aio

from tally.api.common.v1 import pagination_pb2
from tally.api.invoicing.v1 import invoicing_service_pb2 as pb
from tally.api.invoicing.v1 import invoicing_service_pb2_grpc as pb_grpc
from tally.domain.errors import InvalidArgument
from tally.invoicing.handlers import Invoices
from tally.invoicing.messages import invoice_to_wire, period_from_wire, status_from_wire
from tally.invoicing.store import InvoiceFilter, InvoiceKey
from tally.persistence.paging import decode_token, encode_token, page_size

SERVICE = "tally.api.invoicing.v1.InvoicingService"
SCOPES = {
    f"/{SERVICE}/GetInvoice": "invoices:read",
    f"/{SERVICE}/ListInvoices": "invoices:read",
    f"/{SERVICE}/FinalizeInvoice": "invoices:write",
}
"""The RPCs implemented so far; the rest have no scope yet, so auth refuses them (PERMISSION_DENIED)."""

_PAGE_TOKEN = "page.page_token"


def _key(token: str) -> InvoiceKey | None:
    raw = decode_token(token)
    if raw is None:
        return None
    created_at, _, invoice_id = raw.partition("|")
    try:
        return InvoiceKey(datetime.fromisoformat(created_at), invoice_id)
    except ValueError:
        raise InvalidArgument.field(_PAGE_TOKEN, "is not a page token this service issued") from None


class InvoicingServicer(pb_grpc.InvoicingServiceServicer):
    def __init__(self, invoices: Invoices) -> None:
        self._invoices = invoices

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
        page = found[:limit]
        reply = pb.ListInvoicesResponse(invoices=[invoice_to_wire(invoice) for invoice in page])
        if len(found) > limit:
            last = page[-1]
            token = encode_token(f"{last.created_at.isoformat()}|{last.id}")
            reply.page.CopyFrom(pagination_pb2.PageResponse(next_page_token=token))
        return reply
