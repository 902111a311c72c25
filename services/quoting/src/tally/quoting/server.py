"""Quoting's gRPC servicer: translates wire messages to use-case calls, nothing more."""

from __future__ import annotations

import grpc.aio

from tally.api.common.v1 import pagination_pb2
from tally.api.quoting.v1 import quoting_service_pb2 as pb
from tally.api.quoting.v1 import quoting_service_pb2_grpc as pb_grpc
from tally.persistence.paging import decode_int_token, encode_token, page_size
from tally.quoting.handlers import Quotes
from tally.quoting.messages import quote_input, quote_to_wire, status_from_wire

SERVICE = "tally.api.quoting.v1.QuotingService"
SCOPES = {
    f"/{SERVICE}/CreateQuote": "quotes:write",
    f"/{SERVICE}/GetQuote": "quotes:read",
    f"/{SERVICE}/ListQuotes": "quotes:read",
}
"""The RPCs implemented so far; the rest have no scope yet, so auth refuses them (PERMISSION_DENIED)."""


class QuotingServicer(pb_grpc.QuotingServiceServicer):
    def __init__(self, quotes: Quotes) -> None:
        self._quotes = quotes

    async def CreateQuote(
        self, request: pb.CreateQuoteRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateQuoteResponse:
        quote = await self._quotes.create(quote_input(request.quote))
        return pb.CreateQuoteResponse(quote=quote_to_wire(quote))

    async def GetQuote(
        self, request: pb.GetQuoteRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetQuoteResponse:
        return pb.GetQuoteResponse(quote=quote_to_wire(await self._quotes.get(request.quote_id)))

    async def ListQuotes(
        self, request: pb.ListQuotesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListQuotesResponse:
        limit = page_size(request.page.page_size)
        found = await self._quotes.list(
            customer_id=request.customer_id or None,
            status=status_from_wire(request.status),
            before_sequence=decode_int_token(request.page.page_token),
            limit=limit + 1,
        )
        page = found[:limit]
        reply = pb.ListQuotesResponse(quotes=[quote_to_wire(quote) for _, quote in page])
        if len(found) > limit:
            reply.page.CopyFrom(pagination_pb2.PageResponse(next_page_token=encode_token(page[-1][0])))
        return reply
