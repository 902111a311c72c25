"""Invoicing's calls to its peers: catalog (subscriptions, terms, customers, grants) and metering (usage).

Each call goes through the mesh channel (tracing, service identity, deadlines, retries of idempotent reads);
this module turns the replies into what billing needs, and nothing else.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import grpc.aio

from tally.api.catalog.v1 import catalog_service_pb2 as cat
from tally.api.catalog.v1 import catalog_service_pb2_grpc as cat_grpc
from tally.api.common.v1 import pagination_pb2, period_pb2
from tally.api.metering.v1 import metering_service_pb2 as met
from tally.api.metering.v1 import metering_service_pb2_grpc as met_grpc
from tally.domain.errors import FailedPrecondition, InvalidArgument
from tally.invoicing.credit_ledger.store import Grant
from tally.invoicing.domain import CustomerSnapshot
from tally.mesh.wire import money_from_wire, timestamp_from_wire, timestamp_to_wire
from tally.money import parse_decimal
from tally.pricing import Period

CATALOG = "tally.api.catalog.v1.CatalogService"
METERING = "tally.api.metering.v1.MeteringService"
IDEMPOTENT = (
    (CATALOG, "ListSubscriptions"),
    (CATALOG, "GetSubscription"),
    (CATALOG, "GetEffectiveTerms"),
    (CATALOG, "BatchGetEffectiveTerms"),
    (CATALOG, "ListCustomers"),
    (CATALOG, "GetCustomer"),
    (CATALOG, "ListCreditGrants"),
    (METERING, "BatchGetUsage"),
    (METERING, "ListMeterValues"),
)
"""Reads only: safe for the channel to retry on UNAVAILABLE."""

VALUES_PAGE = 10_000
"""Events examined per ListMeterValues page (metering's maximum)."""


@dataclass(frozen=True, slots=True)
class BilledParty:
    """A customer as billing needs it."""

    id: str
    external_id: str
    """The id usage events name the customer by (metering's ``customer``)."""
    currency: str
    tax_rate_percent: Decimal | None
    snapshot: CustomerSnapshot


def _address(address: cat.Address) -> tuple[str, ...]:
    city = " ".join(part for part in (address.postal_code, address.city) if part)
    lines = (address.line1, address.line2, city, address.region, address.country)
    return tuple(line for line in lines if line)


def party_from_wire(customer: cat.Customer) -> BilledParty:
    rate: Decimal | None = None
    if not customer.tax_exempt and customer.tax_rate_percent:
        rate = parse_decimal(customer.tax_rate_percent, field="customer.tax_rate_percent")
    return BilledParty(
        id=customer.id,
        external_id=customer.external_id or customer.id,
        currency=customer.currency,
        tax_rate_percent=rate,
        snapshot=CustomerSnapshot(
            name=customer.name or customer.id,
            email=customer.email,
            address=_address(customer.billing_address),
            tax_id=customer.tax_id,
            external_id=customer.external_id or customer.id,
        ),
    )


def grant_from_wire(grant: cat.CreditGrant) -> Grant:
    amount = money_from_wire(grant.amount, field="credit_grant.amount")
    effective = timestamp_from_wire(grant.effective_at) or timestamp_from_wire(grant.created_at)
    if effective is None:
        raise InvalidArgument.field("credit_grant.effective_at", "is missing and so is created_at")
    return Grant(
        id=grant.id,
        customer_id=grant.customer_id,
        amount=amount,
        cost_basis=parse_decimal(grant.cost_basis or "1", field="credit_grant.cost_basis"),
        priority=grant.priority,
        effective_at=effective,
        expires_at=timestamp_from_wire(grant.expires_at),
    )


@dataclass(frozen=True, slots=True)
class UsageQuery:
    """One meter's quantity for one customer over a period, optionally grouped."""

    customer: str
    meter_id: str
    period: Period
    group_by: tuple[str, ...] = ()


GroupedQuantity = dict[tuple[tuple[str, str], ...], Decimal]
"""Quantity per group (sorted (key, value) pairs; the empty tuple is the ungrouped total)."""


class Catalog:
    """Reads from the catalog service."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = cat_grpc.CatalogServiceStub(channel)

    async def subscriptions(self, page_size: int = 500) -> AsyncIterator[cat.Subscription]:
        token = ""
        while True:
            reply = await self._stub.ListSubscriptions(
                cat.ListSubscriptionsRequest(
                    page=pagination_pb2.PageRequest(page_size=page_size, page_token=token)
                )
            )
            for subscription in reply.subscriptions:
                yield subscription
            token = reply.page.next_page_token
            if not token:
                return

    async def customers(self) -> dict[str, BilledParty]:
        """Every customer, by id (a billing run reads them all at once rather than one by one)."""
        found: dict[str, BilledParty] = {}
        token = ""
        while True:
            reply = await self._stub.ListCustomers(
                cat.ListCustomersRequest(page=pagination_pb2.PageRequest(page_size=1000, page_token=token))
            )
            for customer in reply.customers:
                found[customer.id] = party_from_wire(customer)
            token = reply.page.next_page_token
            if not token:
                return found

    async def batch_terms(
        self, lookups: Sequence[tuple[str, datetime]]
    ) -> list[cat.EffectiveTerms | BaseException]:
        """Each (subscription, instant)'s terms, or a FailedPrecondition saying why catalog could not resolve it."""
        reply = await self._stub.BatchGetEffectiveTerms(
            cat.BatchGetEffectiveTermsRequest(
                requests=[
                    cat.GetEffectiveTermsRequest(subscription_id=subscription_id, at=timestamp_to_wire(at))
                    for subscription_id, at in lookups
                ]
            )
        )
        return [
            FailedPrecondition(f"catalog: {result.error}") if result.error else result.terms
            for result in reply.results
        ]

    async def subscription(self, subscription_id: str) -> cat.Subscription:
        reply = await self._stub.GetSubscription(cat.GetSubscriptionRequest(subscription_id=subscription_id))
        return reply.subscription

    async def terms(self, subscription_id: str, at: datetime) -> cat.EffectiveTerms:
        reply = await self._stub.GetEffectiveTerms(
            cat.GetEffectiveTermsRequest(subscription_id=subscription_id, at=timestamp_to_wire(at))
        )
        return reply.terms

    async def customer(self, customer_id: str) -> BilledParty:
        reply = await self._stub.GetCustomer(cat.GetCustomerRequest(customer_id=customer_id))
        return party_from_wire(reply.customer)

    async def grants(self, customer_id: str = "") -> list[Grant]:
        """One customer's credit grants, or every customer's when ``customer_id`` is empty."""
        found: list[Grant] = []
        token = ""
        while True:
            reply = await self._stub.ListCreditGrants(
                cat.ListCreditGrantsRequest(
                    customer_id=customer_id, page=pagination_pb2.PageRequest(page_size=500, page_token=token)
                )
            )
            found.extend(grant_from_wire(grant) for grant in reply.credit_grants)
            token = reply.page.next_page_token
            if not token:
                return found


class Metering:
    """Reads usage from the metering service."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = met_grpc.MeteringServiceStub(channel)

    async def usage(self, queries: Sequence[UsageQuery]) -> list[GroupedQuantity]:
        """One grouped quantity per query, in order."""
        if not queries:
            return []
        request = met.BatchGetUsageRequest(
            queries=[
                met.UsageQuery(
                    customer=query.customer,
                    meter_id=query.meter_id,
                    period=period_pb2.Period(
                        start=timestamp_to_wire(query.period.start), end=timestamp_to_wire(query.period.end)
                    ),
                    group_by=list(query.group_by),
                )
                for query in queries
            ]
        )
        reply = await self._stub.BatchGetUsage(request)
        results: list[GroupedQuantity] = []
        for result in reply.results:
            grouped: GroupedQuantity = {}
            for bucket in result.buckets:
                key = tuple(sorted(bucket.group.items()))
                grouped[key] = grouped.get(key, Decimal(0)) + parse_decimal(bucket.quantity, field="quantity")
            results.append(grouped)
        return results

    async def values(self, query: UsageQuery) -> list[Decimal]:
        """The meter's value of each of the customer's events over the period, in event order (all pages)."""
        found: list[Decimal] = []
        token = ""
        while True:
            reply = await self._stub.ListMeterValues(
                met.ListMeterValuesRequest(
                    customer=query.customer,
                    meter_id=query.meter_id,
                    period=period_pb2.Period(
                        start=timestamp_to_wire(query.period.start), end=timestamp_to_wire(query.period.end)
                    ),
                    page=pagination_pb2.PageRequest(page_size=VALUES_PAGE, page_token=token),
                )
            )
            found.extend(parse_decimal(value, field="values") for value in reply.values)
            token = reply.page.next_page_token
            if not token:
                return found
