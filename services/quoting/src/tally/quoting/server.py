"""Quoting's gRPC servicer: translates wire messages to use-case calls, nothing more."""

from __future__ import annotations

import grpc.aio

from tally.api.common.v1 import pagination_pb2
from tally.api.quoting.v1 import quoting_service_pb2 as pb
from tally.api.quoting.v1 import quoting_service_pb2_grpc as pb_grpc
from tally.mesh.auth import ALL_SCOPES
from tally.mesh.interceptors.auth import current_principal
from tally.persistence.paging import decode_int_token, page_of, page_size
from tally.quoting.domain import Approver, Quote
from tally.quoting.handlers import Quotes
from tally.quoting.messages import (
    comparison_to_wire,
    estimate_to_wire,
    quote_to_wire,
    status_from_wire,
    terms_from_wire,
    transition_to_wire,
    update_paths,
    version_to_wire,
)

SERVICE = "tally.api.quoting.v1.QuotingService"
SCOPES = {
    f"/{SERVICE}/CreateQuote": "quotes:write",
    f"/{SERVICE}/GetQuote": "quotes:read",
    f"/{SERVICE}/ListQuotes": "quotes:read",
    f"/{SERVICE}/UpdateQuote": "quotes:write",
    f"/{SERVICE}/GetQuoteHistory": "quotes:read",
    f"/{SERVICE}/PriceQuote": "quotes:read",
    f"/{SERVICE}/SubmitQuote": "quotes:write",
    f"/{SERVICE}/ApproveQuote": "quotes:approve",
    f"/{SERVICE}/RejectQuote": "quotes:approve",
    f"/{SERVICE}/AcceptQuote": "quotes:accept",
    f"/{SERVICE}/GetQuotePdf": "quotes:read",
    f"/{SERVICE}/CompareQuoteToActual": "quotes:read",
}
ROLE_SCOPE = "quotes:approve:"
"""A key holding ``quotes:approve:<role>`` approves as that role; ``*`` holds every role."""


def _actor(named: str) -> str:
    """Who acts: the person the request names, else the API key's principal."""
    return named.strip() or current_principal().name


def _approver(named: str) -> Approver:
    principal = current_principal()
    if ALL_SCOPES in principal.scopes:
        return Approver(_actor(named), None)
    roles = frozenset(s.removeprefix(ROLE_SCOPE) for s in principal.scopes if s.startswith(ROLE_SCOPE))
    return Approver(_actor(named), roles)


class QuotingServicer(pb_grpc.QuotingServiceServicer):
    def __init__(self, quotes: Quotes) -> None:
        self._quotes = quotes

    def _wire(self, quote: Quote) -> pb.Quote:
        return quote_to_wire(quote, self._quotes.now())

    async def CreateQuote(
        self, request: pb.CreateQuoteRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateQuoteResponse:
        quote = await self._quotes.create(terms_from_wire(request.quote), _actor(""))
        return pb.CreateQuoteResponse(quote=self._wire(quote))

    async def GetQuote(
        self, request: pb.GetQuoteRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetQuoteResponse:
        return pb.GetQuoteResponse(quote=self._wire(await self._quotes.get(request.quote_id)))

    async def ListQuotes(
        self, request: pb.ListQuotesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListQuotesResponse:
        limit = page_size(request.page.page_size)
        found = await self._quotes.listing(
            customer_id=request.customer_id or None,
            status=status_from_wire(request.status),
            before_sequence=decode_int_token(request.page.page_token),
            limit=limit + 1,
        )
        page, token = page_of(found, limit, lambda row: row[0])
        return pb.ListQuotesResponse(
            quotes=[self._wire(quote) for _, quote in page],
            page=pagination_pb2.PageResponse(next_page_token=token),
        )

    async def UpdateQuote(
        self, request: pb.UpdateQuoteRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateQuoteResponse:
        quote = await self._quotes.update(
            request.quote.id,
            request.quote.version,
            update_paths(request.update_mask.paths),
            terms_from_wire(request.quote),
            _actor(""),
        )
        return pb.UpdateQuoteResponse(quote=self._wire(quote))

    async def GetQuoteHistory(
        self, request: pb.GetQuoteHistoryRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetQuoteHistoryResponse:
        quote, versions, transitions = await self._quotes.history(request.quote_id)
        return pb.GetQuoteHistoryResponse(
            versions=[version_to_wire(quote, version) for version in versions],
            transitions=[transition_to_wire(t) for t in transitions],
        )

    async def PriceQuote(
        self, request: pb.PriceQuoteRequest, context: grpc.aio.ServicerContext
    ) -> pb.PriceQuoteResponse:
        unsaved = terms_from_wire(request.quote) if request.WhichOneof("target") == "quote" else None
        _, priced = await self._quotes.price(request.quote_id, unsaved)
        return pb.PriceQuoteResponse(estimate=estimate_to_wire(priced))

    async def SubmitQuote(
        self, request: pb.SubmitQuoteRequest, context: grpc.aio.ServicerContext
    ) -> pb.SubmitQuoteResponse:
        quote = await self._quotes.submit(request.quote_id, request.version, _actor(request.submitted_by))
        return pb.SubmitQuoteResponse(quote=self._wire(quote))

    async def ApproveQuote(
        self, request: pb.ApproveQuoteRequest, context: grpc.aio.ServicerContext
    ) -> pb.ApproveQuoteResponse:
        quote = await self._quotes.approve(
            request.quote_id, request.version, _approver(request.approver), request.comment
        )
        return pb.ApproveQuoteResponse(quote=self._wire(quote))

    async def RejectQuote(
        self, request: pb.RejectQuoteRequest, context: grpc.aio.ServicerContext
    ) -> pb.RejectQuoteResponse:
        quote = await self._quotes.reject(
            request.quote_id, request.version, _approver(request.approver), request.reason
        )
        return pb.RejectQuoteResponse(quote=self._wire(quote))

    async def AcceptQuote(
        self, request: pb.AcceptQuoteRequest, context: grpc.aio.ServicerContext
    ) -> pb.AcceptQuoteResponse:
        quote = await self._quotes.accept(
            request.quote_id, request.version, request.accepted_by, request.accepted_by_email
        )
        return pb.AcceptQuoteResponse(quote=self._wire(quote))

    async def GetQuotePdf(
        self, request: pb.GetQuotePdfRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetQuotePdfResponse:
        document, filename = await self._quotes.pdf(request.quote_id)
        return pb.GetQuotePdfResponse(pdf=document, filename=filename)

    async def CompareQuoteToActual(
        self, request: pb.CompareQuoteToActualRequest, context: grpc.aio.ServicerContext
    ) -> pb.CompareQuoteToActualResponse:
        compared = await self._quotes.compare(request.quote_id)
        return comparison_to_wire(compared.subscription_id, compared.periods, compared.currency)
