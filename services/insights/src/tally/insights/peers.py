"""Insights' calls to its peers (metering, catalog, invoicing, ingestion), each with a deadline; replies are
turned into what the use cases need, and nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from decimal import Decimal

import grpc.aio

from tally.api.catalog.v1 import catalog_service_pb2 as cat
from tally.api.catalog.v1 import catalog_service_pb2_grpc as cat_grpc
from tally.api.common.v1 import pagination_pb2, period_pb2
from tally.api.ingestion.v1 import ingestion_service_pb2 as ing
from tally.api.ingestion.v1 import ingestion_service_pb2_grpc as ing_grpc
from tally.api.invoicing.v1 import invoicing_service_pb2 as inv
from tally.api.invoicing.v1 import invoicing_service_pb2_grpc as inv_grpc
from tally.api.metering.v1 import metering_service_pb2 as met
from tally.api.metering.v1 import metering_service_pb2_grpc as met_grpc
from tally.insights.scanning import DAILY, MeterInfo, SeriesQuery
from tally.mesh.wire import timestamp_from_wire, timestamp_to_wire
from tally.money import parse_decimal

CATALOG = "tally.api.catalog.v1.CatalogService"
METERING = "tally.api.metering.v1.MeteringService"
INVOICING = "tally.api.invoicing.v1.InvoicingService"
INGESTION = "tally.api.ingestion.v1.IngestionService"
IDEMPOTENT = {
    "catalog": (
        (CATALOG, "ListSubscriptions"),
        (CATALOG, "GetSubscription"),
        (CATALOG, "GetEffectiveTerms"),
        (CATALOG, "BatchGetEffectiveTerms"),
        (CATALOG, "ListCustomers"),
        (CATALOG, "GetPlanVersion"),
    ),
    "metering": ((METERING, "BatchGetUsage"), (METERING, "ListMeters"), (METERING, "ListMeterValues")),
    "invoicing": (
        (INVOICING, "PreviewInvoice"),
        (INVOICING, "ListInvoices"),
        (INVOICING, "GetInvoice"),
        (INVOICING, "GetCreditBalance"),
    ),
    "ingestion": ((INGESTION, "ListRejected"),),
}
"""Reads only: safe for the channel to retry on UNAVAILABLE."""

USAGE_QUERIES_PER_CALL = 200
"""Queries per BatchGetUsage: an hourly series of 35 days is 840 buckets, so a call stays well under 4 MiB."""
VALUES_PAGE = 10_000


def _period(start: datetime, end: datetime) -> period_pb2.Period:
    return period_pb2.Period(start=timestamp_to_wire(start), end=timestamp_to_wire(end))


class Metering:
    def __init__(self, channel: grpc.aio.Channel, deadline_s: float) -> None:
        self._stub = met_grpc.MeteringServiceStub(channel)
        self._deadline = deadline_s

    async def meters(self) -> list[MeterInfo]:
        found: list[MeterInfo] = []
        token = ""
        while True:
            reply = await self._stub.ListMeters(
                met.ListMetersRequest(page=pagination_pb2.PageRequest(page_size=500, page_token=token)),
                timeout=self._deadline,
            )
            found.extend(
                MeterInfo(
                    m.id,
                    m.key,
                    m.event_type,
                    met.Aggregation.Name(m.aggregation).removeprefix("AGGREGATION_"),
                )
                for m in reply.meters
            )
            token = reply.page.next_page_token
            if not token:
                return found

    async def _batch_usage(self, queries: list[met.UsageQuery]) -> list[met.UsageResult]:
        """Each query's result, in order, asking BatchGetUsage at most ``USAGE_QUERIES_PER_CALL`` at a time."""
        results: list[met.UsageResult] = []
        for first in range(0, len(queries), USAGE_QUERIES_PER_CALL):
            reply = await self._stub.BatchGetUsage(
                met.BatchGetUsageRequest(queries=queries[first : first + USAGE_QUERIES_PER_CALL]),
                timeout=self._deadline,
            )
            results.extend(reply.results)
        return results

    async def series_values(self, queries: Sequence[SeriesQuery]) -> list[list[float]]:
        """Each query's quantity per hour or day of its span, in order (windows with no events are 0)."""
        results = await self._batch_usage(
            [
                met.UsageQuery(
                    customer=q.customer,
                    meter_id=q.meter_id,
                    period=_period(q.start, q.end),
                    window=met.WINDOW_DAY if q.granularity == DAILY else met.WINDOW_HOUR,
                )
                for q in queries
            ]
        )
        return [[float(bucket.quantity) for bucket in result.buckets] for result in results]

    async def quantities(
        self, queries: Sequence[tuple[str, str, datetime, datetime, tuple[str, ...]]]
    ) -> list[dict[tuple[tuple[str, str], ...], Decimal]]:
        """Per (customer, meter, start, end, group_by): the quantity per group (sorted (key, value) pairs)."""
        results = await self._batch_usage(
            [
                met.UsageQuery(
                    customer=customer, meter_id=meter_id, period=_period(start, end), group_by=list(group_by)
                )
                for customer, meter_id, start, end, group_by in queries
            ]
        )
        found: list[dict[tuple[tuple[str, str], ...], Decimal]] = []
        for result in results:
            grouped: dict[tuple[tuple[str, str], ...], Decimal] = {}
            for bucket in result.buckets:
                key = tuple(sorted(bucket.group.items()))
                grouped[key] = grouped.get(key, Decimal(0)) + parse_decimal(bucket.quantity, field="quantity")
            found.append(grouped)
        return found

    async def daily(
        self, queries: Sequence[tuple[str, str, datetime, datetime]]
    ) -> list[list[tuple[datetime, float]]]:
        """Per (customer, meter, start, end): the quantity of each UTC day."""
        results = await self._batch_usage(
            [
                met.UsageQuery(
                    customer=customer, meter_id=meter_id, period=_period(start, end), window=met.WINDOW_DAY
                )
                for customer, meter_id, start, end in queries
            ]
        )
        found: list[list[tuple[datetime, float]]] = []
        for result in results:
            days = []
            for bucket in result.buckets:
                start = timestamp_from_wire(bucket.window.start)
                if start is not None:
                    days.append((start, float(bucket.quantity)))
            found.append(days)
        return found

    async def values(self, customer: str, meter_id: str, start: datetime, end: datetime) -> list[Decimal]:
        """The meter's value of each of the customer's events over the span, in event order (all pages)."""
        found: list[Decimal] = []
        token = ""
        while True:
            reply = await self._stub.ListMeterValues(
                met.ListMeterValuesRequest(
                    customer=customer,
                    meter_id=meter_id,
                    period=_period(start, end),
                    page=pagination_pb2.PageRequest(page_size=VALUES_PAGE, page_token=token),
                ),
                timeout=self._deadline,
            )
            found.extend(parse_decimal(value, field="values") for value in reply.values)
            token = reply.page.next_page_token
            if not token:
                return found


class Catalog:
    def __init__(self, channel: grpc.aio.Channel, deadline_s: float) -> None:
        self._stub = cat_grpc.CatalogServiceStub(channel)
        self._deadline = deadline_s

    async def customers(self) -> list[cat.Customer]:
        found: list[cat.Customer] = []
        token = ""
        while True:
            reply = await self._stub.ListCustomers(
                cat.ListCustomersRequest(page=pagination_pb2.PageRequest(page_size=1000, page_token=token)),
                timeout=self._deadline,
            )
            found.extend(reply.customers)
            token = reply.page.next_page_token
            if not token:
                return found

    async def subscriptions(self, customer_id: str = "") -> AsyncIterator[cat.Subscription]:
        token = ""
        while True:
            reply = await self._stub.ListSubscriptions(
                cat.ListSubscriptionsRequest(
                    customer_id=customer_id, page=pagination_pb2.PageRequest(page_size=500, page_token=token)
                ),
                timeout=self._deadline,
            )
            for subscription in reply.subscriptions:
                yield subscription
            token = reply.page.next_page_token
            if not token:
                return

    async def subscription(self, subscription_id: str) -> cat.Subscription:
        reply = await self._stub.GetSubscription(
            cat.GetSubscriptionRequest(subscription_id=subscription_id), timeout=self._deadline
        )
        return reply.subscription

    async def terms(self, lookups: Sequence[tuple[str, datetime]]) -> list[cat.EffectiveTerms | str]:
        """Each (subscription, instant)'s terms, or why catalog could not resolve them."""
        found: list[cat.EffectiveTerms | str] = []
        for first in range(0, len(lookups), 1000):
            reply = await self._stub.BatchGetEffectiveTerms(
                cat.BatchGetEffectiveTermsRequest(
                    requests=[
                        cat.GetEffectiveTermsRequest(
                            subscription_id=subscription_id, at=timestamp_to_wire(at)
                        )
                        for subscription_id, at in lookups[first : first + 1000]
                    ]
                ),
                timeout=self._deadline,
            )
            found.extend(result.error or result.terms for result in reply.results)
        return found

    async def plan_version(self, plan_version_id: str) -> cat.PlanVersion:
        reply = await self._stub.GetPlanVersion(
            cat.GetPlanVersionRequest(plan_version_id=plan_version_id), timeout=self._deadline
        )
        return reply.plan_version


class Invoicing:
    def __init__(self, channel: grpc.aio.Channel, deadline_s: float) -> None:
        self._stub = inv_grpc.InvoicingServiceStub(channel)
        self._deadline = deadline_s

    async def preview(self, subscription_id: str) -> inv.Invoice:
        reply = await self._stub.PreviewInvoice(
            inv.PreviewInvoiceRequest(subscription_id=subscription_id), timeout=self._deadline
        )
        return reply.invoice

    async def invoices(self, customer_id: str, start: datetime, end: datetime) -> list[inv.Invoice]:
        """The customer's invoices whose period overlaps [start, end)."""
        found: list[inv.Invoice] = []
        token = ""
        while True:
            reply = await self._stub.ListInvoices(
                inv.ListInvoicesRequest(
                    customer_id=customer_id,
                    period=_period(start, end),
                    page=pagination_pb2.PageRequest(page_size=200, page_token=token),
                ),
                timeout=self._deadline,
            )
            found.extend(reply.invoices)
            token = reply.page.next_page_token
            if not token:
                return found

    async def invoice(self, invoice_id: str) -> inv.Invoice:
        """One invoice with its lines (a listing carries the summary only)."""
        reply = await self._stub.GetInvoice(
            inv.GetInvoiceRequest(invoice_id=invoice_id), timeout=self._deadline
        )
        return reply.invoice

    async def credit_balance(self, customer_id: str) -> inv.GetCreditBalanceResponse:
        return await self._stub.GetCreditBalance(
            inv.GetCreditBalanceRequest(customer_id=customer_id), timeout=self._deadline
        )


class Ingestion:
    def __init__(self, channel: grpc.aio.Channel, deadline_s: float) -> None:
        self._stub = ing_grpc.IngestionServiceStub(channel)
        self._deadline = deadline_s

    async def rejected(
        self, since: datetime, until: datetime, max_pages: int = 50
    ) -> list[ing.RejectedEventRecord]:
        """Rejected events received in [since, until), newest first; at most ``max_pages`` pages of 1000."""
        found: list[ing.RejectedEventRecord] = []
        token = ""
        for _ in range(max_pages):
            reply = await self._stub.ListRejected(
                ing.ListRejectedRequest(
                    from_time=timestamp_to_wire(since),
                    to_time=timestamp_to_wire(until),
                    page=pagination_pb2.PageRequest(page_size=1000, page_token=token),
                ),
                timeout=self._deadline,
            )
            found.extend(reply.rejected)
            token = reply.page.next_page_token
            if not token:
                break
        return found
