"""Quoting's calls to its peers: catalog (plan versions, customers), metering (usage), invoicing (invoices).

Each call goes through the mesh channel (tracing, service identity, retries of these idempotent reads) with a
deadline of its own, and comes back as quoting's domain values; a peer's NOT_FOUND becomes NotFound naming the
quote's field that referred to it, an unreachable peer Unavailable.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import TypeVar

import grpc
import grpc.aio

from tally.api.catalog.v1 import catalog_service_pb2 as cat
from tally.api.catalog.v1 import catalog_service_pb2_grpc as cat_grpc
from tally.api.common.v1 import pagination_pb2, period_pb2
from tally.api.invoicing.v1 import invoicing_service_pb2 as inv
from tally.api.invoicing.v1 import invoicing_service_pb2_grpc as inv_grpc
from tally.api.metering.v1 import metering_service_pb2 as met
from tally.api.metering.v1 import metering_service_pb2_grpc as met_grpc
from tally.domain.errors import FailedPrecondition, NotFound, Unavailable
from tally.mesh.wire import timestamp_from_wire, timestamp_to_wire
from tally.money import parse_decimal
from tally.pricing_wire import Reader, charge_from_wire, discount_from_wire
from tally.quoting.domain import BilledInvoice, ListedCharge, ListedPlan, QuotedCustomer
from tally.quoting.handlers import UsageAsk

CATALOG = "tally.api.catalog.v1.CatalogService"
METERING = "tally.api.metering.v1.MeteringService"
INVOICING = "tally.api.invoicing.v1.InvoicingService"
IDEMPOTENT = (
    (CATALOG, "GetPlanVersion"),
    (CATALOG, "GetCustomer"),
    (METERING, "BatchGetUsage"),
    (INVOICING, "ListInvoices"),
)
"""Reads only: safe for the channel to retry on UNAVAILABLE."""

DEADLINE_S = 5.0
"""Each read answers from one service's own database; a quote waits no longer for it."""
INVOICES_PAGE = 500

T = TypeVar("T")


@asynccontextmanager
async def _calling(peer: str, resource: str, identifier: str, field: str) -> AsyncIterator[None]:
    """Peer failures as domain errors: NOT_FOUND names ``field``, an outage is Unavailable."""
    try:
        yield
    except grpc.aio.AioRpcError as exc:
        code = exc.code()
        if code == grpc.StatusCode.NOT_FOUND:
            raise NotFound(resource, identifier, field=field) from None
        if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            raise Unavailable(f"{peer} did not answer ({code.name}); try again") from None
        raise


async def _call(peer: str, call: Awaitable[T], resource: str, identifier: str, field: str) -> T:
    async with _calling(peer, resource, identifier, field):
        return await call


def plan_from_wire(version: cat.PlanVersion) -> ListedPlan:
    read = Reader()
    charges = []
    for index, charge in enumerate(version.charges):
        engine = charge_from_wire(charge, field=f"plan_version.charges[{index}]")
        charges.append(
            ListedCharge(
                charge.id, charge.name, engine.price, charge.price.meter_id, engine.included_quantity
            )
        )
    discounts = tuple(
        discount_from_wire(read, discount, f"plan_version.discounts[{index}]")
        for index, discount in enumerate(version.discounts)
    )
    minimum = read.optional(version.minimum_commitment.amount, "plan_version.minimum_commitment.amount")
    maximum = read.optional(version.maximum.amount, "plan_version.maximum.amount")
    read.raise_if_any()
    return ListedPlan(version.id, version.currency, tuple(charges), minimum, maximum, discounts)


def customer_from_wire(customer: cat.Customer) -> QuotedCustomer:
    rate = None
    if not customer.tax_exempt and customer.tax_rate_percent:
        rate = parse_decimal(customer.tax_rate_percent, field="customer.tax_rate_percent")
    return QuotedCustomer(customer.id, customer.external_id, customer.name, customer.currency, rate)


class Catalog:
    """Reads plan versions and customers from catalog."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = cat_grpc.CatalogServiceStub(channel)

    async def plan_version(self, plan_version_id: str, *, field: str) -> ListedPlan:
        reply = await _call(
            "catalog",
            self._stub.GetPlanVersion(
                cat.GetPlanVersionRequest(plan_version_id=plan_version_id), timeout=DEADLINE_S
            ),
            "plan version",
            plan_version_id,
            field,
        )
        return plan_from_wire(reply.plan_version)

    async def customer(self, customer_id: str, *, field: str) -> QuotedCustomer:
        reply = await _call(
            "catalog",
            self._stub.GetCustomer(cat.GetCustomerRequest(customer_id=customer_id), timeout=DEADLINE_S),
            "customer",
            customer_id,
            field,
        )
        return customer_from_wire(reply.customer)

    async def customer_by_external_id(self, external_id: str) -> QuotedCustomer | None:
        """The customer whose usage events name ``external_id``, or None."""
        try:
            reply = await _call(
                "catalog",
                self._stub.GetCustomer(cat.GetCustomerRequest(external_id=external_id), timeout=DEADLINE_S),
                "customer",
                external_id,
                "quote.prospect.external_id",
            )
        except NotFound:
            return None
        return customer_from_wire(reply.customer)


class Metering:
    """Reads usage from metering."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = met_grpc.MeteringServiceStub(channel)

    async def usage(self, customer: str, asks: Sequence[UsageAsk]) -> list[Decimal]:
        """The quantity of each ask, in order (the sum of its buckets), in one call."""
        if not asks:
            return []
        request = met.BatchGetUsageRequest(
            queries=[
                met.UsageQuery(
                    customer=customer,
                    meter_id=ask.meter_id,
                    period=period_pb2.Period(
                        start=timestamp_to_wire(ask.period.start), end=timestamp_to_wire(ask.period.end)
                    ),
                )
                for ask in asks
            ]
        )
        async with _calling("metering", "meter", "", "usage_assumptions"):
            reply = await self._stub.BatchGetUsage(request, timeout=DEADLINE_S)
        return [
            sum((parse_decimal(b.quantity, field="quantity") for b in result.buckets), Decimal(0))
            for result in reply.results
        ]


class Invoicing:
    """Reads a subscription's invoices from invoicing."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = inv_grpc.InvoicingServiceStub(channel)

    async def invoices(self, customer_id: str, subscription_id: str) -> list[BilledInvoice]:
        """The subscription's invoices but void ones, every page."""
        found: list[BilledInvoice] = []
        token = ""
        while True:
            async with _calling("invoicing", "customer", customer_id, "quote_id"):
                reply = await self._stub.ListInvoices(
                    inv.ListInvoicesRequest(
                        customer_id=customer_id,
                        page=pagination_pb2.PageRequest(page_size=INVOICES_PAGE, page_token=token),
                    ),
                    timeout=DEADLINE_S,
                )
            for invoice in reply.invoices:
                if invoice.subscription_id != subscription_id or invoice.status == inv.INVOICE_STATUS_VOID:
                    continue
                start = timestamp_from_wire(invoice.period.start)
                if start is None:
                    raise FailedPrecondition(f"invoicing sent invoice {invoice.id} without a period")
                subtotal = parse_decimal(invoice.subtotal.amount or "0", field="invoice.subtotal")
                found.append(BilledInvoice(start, subtotal, invoice.number))
            token = reply.page.next_page_token
            if not token:
                return found
