"""Invoicing's calls to its peers: catalog (subscriptions, terms, customers, grants) and metering (usage).

Each call goes through the mesh channel (tracing, service identity, deadlines, retries of idempotent reads); the
replies come back as billing's domain objects (``peer_messages``), never as the peers' wire messages.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from decimal import Decimal

import grpc.aio

from tally.api.catalog.v1 import catalog_service_pb2 as cat
from tally.api.catalog.v1 import catalog_service_pb2_grpc as cat_grpc
from tally.api.common.v1 import pagination_pb2
from tally.api.metering.v1 import metering_service_pb2_grpc as met_grpc
from tally.domain.errors import FailedPrecondition, InvalidArgument
from tally.invoicing.billing.peer_messages import (
    grant_from_wire,
    party_from_wire,
    subscription_from_wire,
    usage_from_wire,
    usage_request,
    values_request,
    watermark_request,
)
from tally.invoicing.billing.terms import BilledParty, Subscription
from tally.invoicing.billing.usage import GroupedQuantity, UsageQuery
from tally.invoicing.credit_ledger.domain import Grant
from tally.mesh.wire import timestamp_to_wire
from tally.money import parse_decimal
from tally.pricing import BillingTerms
from tally.pricing_wire import terms_from_wire

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
    (CATALOG, "ListLegalEntities"),
    (CATALOG, "GetLegalEntity"),
    (METERING, "BatchGetUsage"),
    (METERING, "ListMeterValues"),
    (METERING, "GetUsageWatermark"),
)
"""Reads only: safe for the channel to retry on UNAVAILABLE."""

VALUES_PAGE = 10_000
"""Events examined per ListMeterValues page (metering's maximum)."""


def _terms_or_error(result: cat.EffectiveTermsResult) -> BillingTerms | BaseException:
    if result.error:
        return FailedPrecondition(f"catalog: {result.error}")
    try:
        return terms_from_wire(result.terms)
    except InvalidArgument as exc:
        return exc


class Catalog:
    """Reads from the catalog service (the CatalogPeer port)."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = cat_grpc.CatalogServiceStub(channel)

    async def subscriptions(self, page_size: int = 500) -> AsyncIterator[Subscription]:
        token = ""
        while True:
            reply = await self._stub.ListSubscriptions(
                cat.ListSubscriptionsRequest(
                    page=pagination_pb2.PageRequest(page_size=page_size, page_token=token)
                )
            )
            for subscription in reply.subscriptions:
                yield subscription_from_wire(subscription)
            token = reply.page.next_page_token
            if not token:
                return

    async def _entities(self) -> dict[str, cat.LegalEntity]:
        found: dict[str, cat.LegalEntity] = {}
        token = ""
        while True:
            reply = await self._stub.ListLegalEntities(
                cat.ListLegalEntitiesRequest(page=pagination_pb2.PageRequest(page_size=500, page_token=token))
            )
            found.update((entity.id, entity) for entity in reply.legal_entities)
            token = reply.page.next_page_token
            if not token:
                return found

    async def customers(self) -> dict[str, BilledParty]:
        entities = await self._entities()
        found: dict[str, BilledParty] = {}
        token = ""
        while True:
            reply = await self._stub.ListCustomers(
                cat.ListCustomersRequest(page=pagination_pb2.PageRequest(page_size=1000, page_token=token))
            )
            for customer in reply.customers:
                found[customer.id] = party_from_wire(customer, entities)
            token = reply.page.next_page_token
            if not token:
                return found

    async def batch_terms(
        self, lookups: Sequence[tuple[str, datetime]]
    ) -> list[BillingTerms | BaseException]:
        reply = await self._stub.BatchGetEffectiveTerms(
            cat.BatchGetEffectiveTermsRequest(
                requests=[
                    cat.GetEffectiveTermsRequest(subscription_id=subscription_id, at=timestamp_to_wire(at))
                    for subscription_id, at in lookups
                ]
            )
        )
        return [_terms_or_error(result) for result in reply.results]

    async def subscription(self, subscription_id: str) -> Subscription:
        reply = await self._stub.GetSubscription(cat.GetSubscriptionRequest(subscription_id=subscription_id))
        return subscription_from_wire(reply.subscription)

    async def terms(self, subscription_id: str, at: datetime) -> BillingTerms:
        reply = await self._stub.GetEffectiveTerms(
            cat.GetEffectiveTermsRequest(subscription_id=subscription_id, at=timestamp_to_wire(at))
        )
        return terms_from_wire(reply.terms)

    async def customer(self, customer_id: str) -> BilledParty:
        customer = (await self._stub.GetCustomer(cat.GetCustomerRequest(customer_id=customer_id))).customer
        entities = {}
        if customer.legal_entity_id:
            reply = await self._stub.GetLegalEntity(
                cat.GetLegalEntityRequest(legal_entity_id=customer.legal_entity_id)
            )
            entities[customer.legal_entity_id] = reply.legal_entity
        return party_from_wire(customer, entities)

    async def grants(self, customer_id: str = "") -> list[Grant]:
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
    """Reads usage from the metering service (the MeteringPeer port)."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = met_grpc.MeteringServiceStub(channel)

    async def watermark(self) -> int:
        return int((await self._stub.GetUsageWatermark(watermark_request())).watermark)

    async def usage(self, queries: Sequence[UsageQuery]) -> list[GroupedQuantity]:
        if not queries:
            return []
        return usage_from_wire(await self._stub.BatchGetUsage(usage_request(queries)))

    async def values(self, query: UsageQuery) -> list[Decimal]:
        found: list[Decimal] = []
        token = ""
        while True:
            reply = await self._stub.ListMeterValues(
                values_request(query, page_size=VALUES_PAGE, page_token=token)
            )
            found.extend(parse_decimal(value, field="values") for value in reply.values)
            token = reply.page.next_page_token
            if not token:
                return found
