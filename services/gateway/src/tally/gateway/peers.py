"""The services the gateway reads and writes through: one stub each, a deadline on every call, and their
gRPC failures turned back into domain errors (so HTTP answers with the same field-level reasons)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
import grpc.aio

from tally.api.catalog.v1 import catalog_service_pb2 as cat
from tally.api.catalog.v1 import catalog_service_pb2_grpc as cat_grpc
from tally.api.common.v1 import pagination_pb2
from tally.api.erp_sync.v1 import erp_sync_service_pb2 as erp
from tally.api.erp_sync.v1 import erp_sync_service_pb2_grpc as erp_grpc
from tally.api.ingestion.v1 import ingestion_service_pb2 as ing
from tally.api.ingestion.v1 import ingestion_service_pb2_grpc as ing_grpc
from tally.api.invoicing.v1 import invoicing_service_pb2 as inv
from tally.api.invoicing.v1 import invoicing_service_pb2_grpc as inv_grpc
from tally.api.metering.v1 import metering_service_pb2 as met
from tally.api.metering.v1 import metering_service_pb2_grpc as met_grpc
from tally.api.quoting.v1 import quoting_service_pb2 as quo
from tally.api.quoting.v1 import quoting_service_pb2_grpc as quo_grpc
from tally.domain.errors import (
    DomainError,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)
from tally.mesh.errors import field_violations, resource_info, retry_delay_s

T = TypeVar("T")

READS: tuple[tuple[str, str], ...] = tuple(
    (service, method)
    for service, methods in {
        "tally.api.catalog.v1.CatalogService": ("GetCustomer", "ListCustomers", "ListSubscriptions", "GetEffectiveTerms"),
        "tally.api.metering.v1.MeteringService": ("ListMeters", "BatchGetUsage"),
        "tally.api.invoicing.v1.InvoicingService": (
            "PreviewInvoice", "ListInvoices", "GetInvoice", "GetInvoicePdf", "GetCreditBalance",
            "ListCreditLedger", "ListCreditNotes", "GetCreditNote", "GetCreditNotePdf", "ListBillingRuns",
        ),
        "tally.api.quoting.v1.QuotingService": ("ListQuotes", "GetQuote"),
        "tally.api.erp_sync.v1.ErpSyncService": ("ListSyncRecords", "GetSyncStatus"),
        # Ingest is keyed by batch_id and event ids, so a retried batch is never counted twice.
        "tally.api.ingestion.v1.IngestionService": ("Ingest", "ListRejected"),
    }.items()
    for method in methods
)  # fmt: skip
"""Idempotent calls, retried by the channel on UNAVAILABLE (per peer, the methods the gateway uses)."""


def domain_error(exc: grpc.aio.AioRpcError, peer: str) -> DomainError:
    """The domain error a peer's failure stands for, keeping its field violations."""
    code, details = exc.code(), exc.details() or ""
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        violations = field_violations(exc) or [FieldViolation("request", details)]
        return InvalidArgument(violations)
    if code == grpc.StatusCode.NOT_FOUND:
        info = resource_info(exc)
        fields = field_violations(exc)
        if info is not None:
            return NotFound(info.resource_type, info.resource_name, fields[0].field if fields else None)
        return NotFound("resource", details)
    if code == grpc.StatusCode.FAILED_PRECONDITION:
        return FailedPrecondition(details)
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        return ResourceExhausted(details, retry_after_s=retry_delay_s(exc))
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return Unauthenticated(details)
    if code == grpc.StatusCode.PERMISSION_DENIED:
        return PermissionDenied(details)
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return Unavailable(f"{peer} did not answer in time")
    # An UNAVAILABLE's RetryInfo (an ingest whose outcome is unknown, a full store) says when to resend.
    return Unavailable(
        f"{peer} is not available ({code.name}): {details}", retry_after_s=retry_delay_s(exc) or 1.0
    )


class Peers:
    """Stubs of the six services, called with the gateway's own key (or, for ingest, the caller's)."""

    def __init__(self, channels: dict[str, grpc.aio.Channel], deadline_s: float) -> None:
        self._deadline_s = deadline_s
        self.catalog = cat_grpc.CatalogServiceStub(channels["catalog"])
        self.metering = met_grpc.MeteringServiceStub(channels["metering"])
        self.invoicing = inv_grpc.InvoicingServiceStub(channels["invoicing"])
        self.quoting = quo_grpc.QuotingServiceStub(channels["quoting"])
        self.erp = erp_grpc.ErpSyncServiceStub(channels["erp_sync"])
        self.ingestion = ing_grpc.IngestionServiceStub(channels["ingestion"])

    async def call(
        self, peer: str, method: Callable[..., Awaitable[T]], request: Any, *, token: str | None = None
    ) -> T:
        metadata = (("authorization", f"Bearer {token}"),) if token else None
        try:
            return await method(request, timeout=self._deadline_s, metadata=metadata)
        except grpc.aio.AioRpcError as exc:
            raise domain_error(exc, peer) from None

    # -- catalog ------------------------------------------------------------------------------------------
    async def customer(self, reference: str) -> cat.Customer:
        """A customer by catalog id or, failing that, by external id (what usage events call it)."""
        if not reference:
            raise InvalidArgument.field("customer", "is required: a customer id or external id")
        try:
            reply = await self.call(
                "catalog", self.catalog.GetCustomer, cat.GetCustomerRequest(customer_id=reference)
            )
        except NotFound:
            try:
                reply = await self.call(
                    "catalog", self.catalog.GetCustomer, cat.GetCustomerRequest(external_id=reference)
                )
            except NotFound:
                raise NotFound("customer", reference, "customer") from None
        return reply.customer

    async def customers(self, page_token: str = "", page_size: int = 100) -> cat.ListCustomersResponse:
        return await self.call(
            "catalog", self.catalog.ListCustomers, cat.ListCustomersRequest(page=_page(page_token, page_size))
        )

    async def subscriptions(self, customer_id: str) -> list[cat.Subscription]:
        found: list[cat.Subscription] = []
        token = ""
        while True:
            reply = await self.call(
                "catalog",
                self.catalog.ListSubscriptions,
                cat.ListSubscriptionsRequest(customer_id=customer_id, page=_page(token, 100)),
            )
            found.extend(reply.subscriptions)
            token = reply.page.next_page_token
            if not token:
                return found

    async def terms(self, subscription_id: str) -> cat.EffectiveTerms:
        reply = await self.call(
            "catalog",
            self.catalog.GetEffectiveTerms,
            cat.GetEffectiveTermsRequest(subscription_id=subscription_id),
        )
        return reply.terms

    # -- metering -----------------------------------------------------------------------------------------
    async def meters(self) -> list[met.Meter]:
        found: list[met.Meter] = []
        token = ""
        while True:
            reply = await self.call(
                "metering", self.metering.ListMeters, met.ListMetersRequest(page=_page(token, 500))
            )
            found.extend(reply.meters)
            token = reply.page.next_page_token
            if not token:
                return found

    async def usage(self, queries: list[met.UsageQuery]) -> list[met.UsageResult]:
        if not queries:
            return []
        reply = await self.call(
            "metering", self.metering.BatchGetUsage, met.BatchGetUsageRequest(queries=queries)
        )
        return list(reply.results)

    # -- invoicing ----------------------------------------------------------------------------------------
    async def preview(self, subscription_id: str) -> inv.Invoice:
        reply = await self.call(
            "invoicing",
            self.invoicing.PreviewInvoice,
            inv.PreviewInvoiceRequest(subscription_id=subscription_id),
        )
        return reply.invoice

    async def invoices(self, request: inv.ListInvoicesRequest) -> inv.ListInvoicesResponse:
        return await self.call("invoicing", self.invoicing.ListInvoices, request)

    async def invoice(self, invoice_id: str) -> inv.Invoice:
        if not invoice_id:
            raise InvalidArgument.field("invoice_id", "is required")
        reply = await self.call(
            "invoicing", self.invoicing.GetInvoice, inv.GetInvoiceRequest(invoice_id=invoice_id)
        )
        return reply.invoice

    async def invoice_pdf(self, invoice_id: str) -> inv.GetInvoicePdfResponse:
        return await self.call(
            "invoicing", self.invoicing.GetInvoicePdf, inv.GetInvoicePdfRequest(invoice_id=invoice_id)
        )

    async def credit_balance(self, customer_id: str) -> inv.GetCreditBalanceResponse:
        return await self.call(
            "invoicing", self.invoicing.GetCreditBalance, inv.GetCreditBalanceRequest(customer_id=customer_id)
        )

    async def credit_ledger(self, customer_id: str) -> list[inv.CreditLedgerEntry]:
        found: list[inv.CreditLedgerEntry] = []
        token = ""
        while True:
            reply = await self.call(
                "invoicing",
                self.invoicing.ListCreditLedger,
                inv.ListCreditLedgerRequest(customer_id=customer_id, page=_page(token, 500)),
            )
            found.extend(reply.entries)
            token = reply.page.next_page_token
            if not token:
                return found

    async def credit_notes(self, request: inv.ListCreditNotesRequest) -> inv.ListCreditNotesResponse:
        return await self.call("invoicing", self.invoicing.ListCreditNotes, request)

    async def billing_runs(self, request: inv.ListBillingRunsRequest) -> inv.ListBillingRunsResponse:
        return await self.call("invoicing", self.invoicing.ListBillingRuns, request)

    async def credit_note(self, credit_note_id: str) -> inv.CreditNote:
        reply = await self.call(
            "invoicing", self.invoicing.GetCreditNote, inv.GetCreditNoteRequest(credit_note_id=credit_note_id)
        )
        return reply.credit_note

    async def credit_note_pdf(self, credit_note_id: str) -> inv.GetCreditNotePdfResponse:
        return await self.call(
            "invoicing",
            self.invoicing.GetCreditNotePdf,
            inv.GetCreditNotePdfRequest(credit_note_id=credit_note_id),
        )

    # -- quoting, erp-sync, ingestion -----------------------------------------------------------------------
    async def quotes(self, customer_id: str) -> list[quo.Quote]:
        reply = await self.call(
            "quoting",
            self.quoting.ListQuotes,
            quo.ListQuotesRequest(customer_id=customer_id, page=_page("", 100)),
        )
        return list(reply.quotes)

    async def quote(self, quote_id: str) -> quo.Quote:
        reply = await self.call("quoting", self.quoting.GetQuote, quo.GetQuoteRequest(quote_id=quote_id))
        return reply.quote

    async def sync_records(self, request: erp.ListSyncRecordsRequest) -> erp.ListSyncRecordsResponse:
        return await self.call("erp-sync", self.erp.ListSyncRecords, request)

    async def sync_status(self, kind: int, document_id: str) -> list[erp.SyncRecord]:
        reply = await self.call(
            "erp-sync",
            self.erp.GetSyncStatus,
            erp.GetSyncStatusRequest(document_kind=kind, document_id=document_id),  # type: ignore[arg-type]
        )
        return list(reply.records)

    async def ingest(self, request: ing.IngestRequest, token: str) -> ing.IngestResponse:
        """Sent with the caller's own key: the batch belongs to that producer, as over gRPC."""
        return await self.call("ingestion", self.ingestion.Ingest, request, token=token)

    async def rejected(self, request: ing.ListRejectedRequest) -> ing.ListRejectedResponse:
        return await self.call("ingestion", self.ingestion.ListRejected, request)


def _page(token: str, size: int) -> pagination_pb2.PageRequest:
    return pagination_pb2.PageRequest(page_token=token, page_size=size)
