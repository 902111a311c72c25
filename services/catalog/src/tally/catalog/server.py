"""Catalog's gRPC servicer: translates wire messages to use-case calls, nothing more."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import grpc.aio

from tally.api.catalog.v1 import catalog_service_pb2 as pb
from tally.api.catalog.v1 import catalog_service_pb2_grpc as pb_grpc
from tally.api.common.v1 import pagination_pb2
from tally.catalog.domain import Subscription
from tally.catalog.handlers import CreditGrants, Customers, LegalEntities, Offers, Subscriptions
from tally.catalog.messages import (
    STATUSES_FROM_WIRE,
    credit_grant_from_wire,
    credit_grant_to_wire,
    customer_input,
    customer_to_wire,
    effective_terms_to_wire,
    legal_entity_from_wire,
    legal_entity_to_wire,
    plan_to_wire,
    product_to_wire,
    subscription_from_wire,
    subscription_to_wire,
)
from tally.catalog.price_wire import catalog_price_to_wire, plan_version_to_wire, rate_on_wire
from tally.domain.errors import DomainError, InvalidArgument
from tally.mesh.wire import timestamp_from_wire
from tally.persistence.paging import decode_token, page_of, page_size

T = TypeVar("T")

SERVICE = "tally.api.catalog.v1.CatalogService"
_READS = (
    "GetCustomer",
    "ListCustomers",
    "GetProduct",
    "ListProducts",
    "GetPrice",
    "ListPrices",
    "GetPlan",
    "ListPlans",
    "GetPlanVersion",
    "GetSubscription",
    "ListSubscriptions",
    "ListCreditGrants",
    "Rate",
    "GetEffectiveTerms",
    "BatchGetEffectiveTerms",
    "GetLegalEntity",
    "ListLegalEntities",
)
_WRITES = (
    "CreateCustomer",
    "UpdateCustomer",
    "CreateProduct",
    "CreatePrice",
    "CreatePlan",
    "PublishPlanVersion",
    "CreateSubscription",
    "UpdateSubscription",
    "CancelSubscription",
    "MigrateSubscription",
    "CreateCreditGrant",
    "CreateLegalEntity",
    "UpdateLegalEntity",
)
SCOPES = {f"/{SERVICE}/{rpc}": "catalog:read" for rpc in _READS} | {
    f"/{SERVICE}/{rpc}": "catalog:write" for rpc in _WRITES
}
"""Every RPC and the scope it needs; an RPC missing here is refused by auth (PERMISSION_DENIED)."""


def _page(
    found: Sequence[T], limit: int, key: Callable[[T], str]
) -> tuple[Sequence[T], pagination_pb2.PageResponse]:
    """The page to return (``found`` holds one row more than ``limit`` if there is a next page) and its cursor."""
    page, token = page_of(found, limit, key)
    return page, pagination_pb2.PageResponse(next_page_token=token)


class CatalogServicer(pb_grpc.CatalogServiceServicer):
    def __init__(
        self,
        customers: Customers,
        offers: Offers,
        subscriptions: Subscriptions,
        credit_grants: CreditGrants,
        legal_entities: LegalEntities,
    ) -> None:
        self._customers = customers
        self._offers = offers
        self._subscriptions = subscriptions
        self._credit_grants = credit_grants
        self._legal_entities = legal_entities

    async def CreateLegalEntity(
        self, request: pb.CreateLegalEntityRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateLegalEntityResponse:
        entity = await self._legal_entities.create(legal_entity_from_wire(request.legal_entity))
        return pb.CreateLegalEntityResponse(legal_entity=legal_entity_to_wire(entity))

    async def GetLegalEntity(
        self, request: pb.GetLegalEntityRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetLegalEntityResponse:
        entity = await self._legal_entities.get(request.legal_entity_id)
        return pb.GetLegalEntityResponse(legal_entity=legal_entity_to_wire(entity))

    async def ListLegalEntities(
        self, request: pb.ListLegalEntitiesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListLegalEntitiesResponse:
        limit = page_size(request.page.page_size)
        found = await self._legal_entities.list(after=decode_token(request.page.page_token), limit=limit + 1)
        entities, page = _page(found, limit, lambda e: e.id)
        return pb.ListLegalEntitiesResponse(
            legal_entities=[legal_entity_to_wire(e) for e in entities], page=page
        )

    async def UpdateLegalEntity(
        self, request: pb.UpdateLegalEntityRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateLegalEntityResponse:
        entity = await self._legal_entities.update(
            request.legal_entity.id,
            list(request.update_mask.paths),
            legal_entity_from_wire(request.legal_entity),
        )
        return pb.UpdateLegalEntityResponse(legal_entity=legal_entity_to_wire(entity))

    async def CreateCustomer(
        self, request: pb.CreateCustomerRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateCustomerResponse:
        customer = await self._customers.create(customer_input(request.customer))
        return pb.CreateCustomerResponse(customer=customer_to_wire(customer))

    async def GetCustomer(
        self, request: pb.GetCustomerRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetCustomerResponse:
        key = request.WhichOneof("key")
        if key == "customer_id":
            customer = await self._customers.get(request.customer_id)
        elif key == "external_id":
            customer = await self._customers.get_by_external_id(request.external_id)
        else:
            raise InvalidArgument.field("customer_id", "set customer_id or external_id")
        return pb.GetCustomerResponse(customer=customer_to_wire(customer))

    async def UpdateCustomer(
        self, request: pb.UpdateCustomerRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateCustomerResponse:
        customer = await self._customers.update(
            request.customer.id, list(request.update_mask.paths), customer_input(request.customer)
        )
        return pb.UpdateCustomerResponse(customer=customer_to_wire(customer))

    async def ListCustomers(
        self, request: pb.ListCustomersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListCustomersResponse:
        limit = page_size(request.page.page_size)
        found = await self._customers.list(
            after_external_id=decode_token(request.page.page_token), limit=limit + 1
        )
        customers, page = _page(found, limit, lambda c: c.details.external_id)
        return pb.ListCustomersResponse(customers=[customer_to_wire(c) for c in customers], page=page)

    async def CreateProduct(
        self, request: pb.CreateProductRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateProductResponse:
        product = await self._offers.create_product(request.product.name, request.product.description)
        return pb.CreateProductResponse(product=product_to_wire(product))

    async def GetProduct(
        self, request: pb.GetProductRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetProductResponse:
        return pb.GetProductResponse(
            product=product_to_wire(await self._offers.get_product(request.product_id))
        )

    async def ListProducts(
        self, request: pb.ListProductsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListProductsResponse:
        limit = page_size(request.page.page_size)
        found = await self._offers.list_products(after=decode_token(request.page.page_token), limit=limit + 1)
        products, page = _page(found, limit, lambda p: p.id)
        return pb.ListProductsResponse(products=[product_to_wire(p) for p in products], page=page)

    async def CreatePrice(
        self, request: pb.CreatePriceRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreatePriceResponse:
        price = await self._offers.create_price(request.price)
        return pb.CreatePriceResponse(price=catalog_price_to_wire(price))

    async def GetPrice(
        self, request: pb.GetPriceRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetPriceResponse:
        return pb.GetPriceResponse(
            price=catalog_price_to_wire(await self._offers.get_price(request.price_id))
        )

    async def ListPrices(
        self, request: pb.ListPricesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListPricesResponse:
        limit = page_size(request.page.page_size)
        found = await self._offers.list_prices(
            product_id=request.product_id, after=decode_token(request.page.page_token), limit=limit + 1
        )
        prices, page = _page(found, limit, lambda p: p.id)
        return pb.ListPricesResponse(prices=[catalog_price_to_wire(p) for p in prices], page=page)

    async def CreatePlan(
        self, request: pb.CreatePlanRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreatePlanResponse:
        plan = await self._offers.create_plan(request.plan.name, request.plan.description)
        return pb.CreatePlanResponse(plan=plan_to_wire(plan))

    async def GetPlan(
        self, request: pb.GetPlanRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetPlanResponse:
        plan, latest = await self._offers.get_plan(request.plan_id)
        reply = pb.GetPlanResponse(plan=plan_to_wire(plan))
        if latest is not None:
            reply.latest_version.CopyFrom(plan_version_to_wire(latest))
        return reply

    async def ListPlans(
        self, request: pb.ListPlansRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListPlansResponse:
        limit = page_size(request.page.page_size)
        found = await self._offers.list_plans(after=decode_token(request.page.page_token), limit=limit + 1)
        plans, page = _page(found, limit, lambda p: p.id)
        return pb.ListPlansResponse(plans=[plan_to_wire(p) for p in plans], page=page)

    async def PublishPlanVersion(
        self, request: pb.PublishPlanVersionRequest, context: grpc.aio.ServicerContext
    ) -> pb.PublishPlanVersionResponse:
        version = await self._offers.publish(request.plan_version)
        return pb.PublishPlanVersionResponse(plan_version=plan_version_to_wire(version))

    async def GetPlanVersion(
        self, request: pb.GetPlanVersionRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetPlanVersionResponse:
        version = await self._offers.get_plan_version(request.plan_version_id)
        return pb.GetPlanVersionResponse(plan_version=plan_version_to_wire(version))

    async def CreateSubscription(
        self, request: pb.CreateSubscriptionRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateSubscriptionResponse:
        created = await self._subscriptions.create(subscription_from_wire(request.subscription))
        return pb.CreateSubscriptionResponse(subscription=self._wire(created))

    def _wire(self, subscription: Subscription) -> pb.Subscription:
        return subscription_to_wire(subscription, self._subscriptions.now())

    async def GetSubscription(
        self, request: pb.GetSubscriptionRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetSubscriptionResponse:
        found = await self._subscriptions.get(request.subscription_id)
        return pb.GetSubscriptionResponse(subscription=self._wire(found))

    async def ListSubscriptions(
        self, request: pb.ListSubscriptionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListSubscriptionsResponse:
        limit = page_size(request.page.page_size)
        found = await self._subscriptions.list(
            customer_id=request.customer_id,
            status=STATUSES_FROM_WIRE.get(request.status),
            after=decode_token(request.page.page_token),
            limit=limit + 1,
        )
        subscriptions, page = _page(found, limit, lambda s: s.id)
        return pb.ListSubscriptionsResponse(subscriptions=[self._wire(s) for s in subscriptions], page=page)

    async def UpdateSubscription(
        self, request: pb.UpdateSubscriptionRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateSubscriptionResponse:
        updated = await self._subscriptions.update(
            request.subscription.id, list(request.update_mask.paths), request.subscription
        )
        return pb.UpdateSubscriptionResponse(subscription=self._wire(updated))

    async def CancelSubscription(
        self, request: pb.CancelSubscriptionRequest, context: grpc.aio.ServicerContext
    ) -> pb.CancelSubscriptionResponse:
        canceled = await self._subscriptions.cancel(
            request.subscription_id, timestamp_from_wire(request.cancel_at), request.reason
        )
        return pb.CancelSubscriptionResponse(subscription=self._wire(canceled))

    async def MigrateSubscription(
        self, request: pb.MigrateSubscriptionRequest, context: grpc.aio.ServicerContext
    ) -> pb.MigrateSubscriptionResponse:
        migrated = await self._subscriptions.migrate(
            request.subscription_id,
            request.plan_version_id,
            timestamp_from_wire(request.effective_at),
            keep_overrides=request.keep_overrides,
        )
        return pb.MigrateSubscriptionResponse(subscription=self._wire(migrated))

    async def CreateCreditGrant(
        self, request: pb.CreateCreditGrantRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateCreditGrantResponse:
        grant = await self._credit_grants.create(credit_grant_from_wire(request.credit_grant))
        return pb.CreateCreditGrantResponse(credit_grant=credit_grant_to_wire(grant))

    async def ListCreditGrants(
        self, request: pb.ListCreditGrantsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListCreditGrantsResponse:
        limit = page_size(request.page.page_size)
        found = await self._credit_grants.list(
            customer_id=request.customer_id, after=decode_token(request.page.page_token), limit=limit + 1
        )
        grants, page = _page(found, limit, lambda g: g.id)
        return pb.ListCreditGrantsResponse(credit_grants=[credit_grant_to_wire(g) for g in grants], page=page)

    async def Rate(self, request: pb.RateRequest, context: grpc.aio.ServicerContext) -> pb.RateResponse:
        return rate_on_wire(request)

    async def BatchGetEffectiveTerms(
        self, request: pb.BatchGetEffectiveTermsRequest, context: grpc.aio.ServicerContext
    ) -> pb.BatchGetEffectiveTermsResponse:
        answers = await self._subscriptions.batch_effective_terms(
            [(lookup.subscription_id, timestamp_from_wire(lookup.at)) for lookup in request.requests]
        )
        return pb.BatchGetEffectiveTermsResponse(
            results=[
                pb.EffectiveTermsResult(error=str(answer))
                if isinstance(answer, DomainError)
                else pb.EffectiveTermsResult(terms=effective_terms_to_wire(answer))
                for answer in answers
            ]
        )

    async def GetEffectiveTerms(
        self, request: pb.GetEffectiveTermsRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetEffectiveTermsResponse:
        terms = await self._subscriptions.effective_terms(
            request.subscription_id, timestamp_from_wire(request.at)
        )
        return pb.GetEffectiveTermsResponse(terms=effective_terms_to_wire(terms))
