"""Catalog use cases: customers, products, prices, plans, subscriptions and their terms, credit grants."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import TypeVar

from opentelemetry import trace

from tally.api.catalog.v1 import catalog_service_pb2 as pb
from tally.api.catalog.v1 import events_pb2
from tally.catalog.domain import (
    AcceptedQuote,
    CatalogPrice,
    CreditGrant,
    Customer,
    CustomerInput,
    EffectiveTerms,
    LegalEntity,
    Plan,
    PlanVersionTerms,
    Product,
    Subscription,
    SubscriptionStatus,
    billing_period,
    canonical_external_id,
    customer_update_fields,
    legal_entity_update_fields,
    migrate,
    resolve_terms,
    update_customer,
    validate_credit_grant,
    validate_customer,
    validate_legal_entity,
    validate_name,
    validate_plan_version,
    validate_subscription,
)
from tally.catalog.events import customer_created, customer_updated, subscription_changed
from tally.catalog.messages import (
    discounts_from_wire,
    minimum_from_wire,
    overrides_from_wire,
    phases_from_wire,
)
from tally.catalog.price_wire import catalog_price_from_wire, catalog_price_to_wire, plan_version_from_wire
from tally.catalog.store import CatalogStore, CatalogTransaction, CustomerStore
from tally.domain.errors import AlreadyExists, DomainError, InvalidArgument, NotFound
from tally.mesh import attributes
from tally.mesh.wire import timestamp_from_wire

T = TypeVar("T")


def _now() -> datetime:
    return datetime.now(UTC)


class Customers:
    """Customers: created and updated with their CustomerChanged event in one transaction, then read back."""

    def __init__(
        self, store: CustomerStore, wake_relay: Callable[[], None], *, clock: Callable[[], datetime] = _now
    ) -> None:
        self._store = store
        self._wake_relay = wake_relay
        self._clock = clock

    async def create(self, raw: CustomerInput) -> Customer:
        details = validate_customer(raw)
        await asyncio.to_thread(self._check_legal_entity, details.legal_entity_id)
        now = self._clock()
        customer = Customer(id=str(uuid.uuid4()), details=details, version=1, created_at=now, updated_at=now)
        trace.get_current_span().set_attribute(attributes.CUSTOMER, customer.id)
        await asyncio.to_thread(self._store.create, customer, customer_created(customer))
        self._wake_relay()
        return customer

    async def update(self, customer_id: str, paths: Sequence[str], raw: CustomerInput) -> Customer:
        """The customer with the masked fields of ``raw`` as version n+1; a refused change writes nothing."""
        fields = customer_update_fields(paths)
        if "legal_entity_id" in fields:
            await asyncio.to_thread(self._check_legal_entity, raw.legal_entity_id.strip())
        if not customer_id:
            raise InvalidArgument.field("customer.id", "is required")
        trace.get_current_span().set_attribute(attributes.CUSTOMER, customer_id)

        def change() -> Customer:
            with self._store.transaction() as tx:
                current = _found(
                    tx.customer(customer_id, lock="update"), "customer", customer_id, "customer.id"
                )
                details = update_customer(
                    current.details, raw, paths, has_subscriptions=lambda: tx.has_subscriptions(customer_id)
                )
                updated = replace(
                    current,
                    details=details,
                    version=current.version + 1,
                    updated_at=max(self._clock(), current.updated_at),
                )
                tx.replace_customer(updated)
                tx.enqueue(customer_updated(updated))
                return updated

        updated = await asyncio.to_thread(change)
        self._wake_relay()
        return updated

    def _check_legal_entity(self, entity_id: str) -> None:
        """NotFound naming ``customer.legal_entity_id`` unless the entity exists (entities are never deleted)."""
        if not entity_id:
            return
        with self._store.transaction() as tx:
            _found(tx.legal_entity(entity_id), "legal entity", entity_id, "customer.legal_entity_id")

    async def get(self, customer_id: str) -> Customer:
        if not customer_id:
            raise InvalidArgument.field("customer_id", "must not be empty")
        customer = await asyncio.to_thread(self._store.get, customer_id)
        if customer is None:
            raise NotFound("customer", customer_id, field="customer_id")
        return customer

    async def get_by_external_id(self, external_id: str) -> Customer:
        if not external_id:
            raise InvalidArgument.field("external_id", "must not be empty")
        customer = await asyncio.to_thread(self._store.get_by_external_id, canonical_external_id(external_id))
        if customer is None:
            raise NotFound("customer", external_id, field="external_id")
        return customer

    async def list(self, *, after_external_id: str | None, limit: int) -> list[Customer]:
        return await asyncio.to_thread(self._store.list, after_external_id=after_external_id, limit=limit)


class Offers:
    """Products, prices and plans with their immutable versions: validated in full before anything is written."""

    def __init__(self, store: CatalogStore, *, clock: Callable[[], datetime] = _now) -> None:
        self._store = store
        self._clock = clock

    async def create_product(self, name: str, description: str) -> Product:
        product = Product(
            str(uuid.uuid4()), validate_name(name, "product"), description.strip(), self._clock()
        )
        await asyncio.to_thread(self._write, lambda tx: tx.add_product(product))
        return product

    def _write(self, change: Callable[[CatalogTransaction], None]) -> None:
        with self._store.transaction() as tx:
            change(tx)

    async def get_product(self, product_id: str) -> Product:
        return _found(
            await self._read(lambda tx: tx.product(product_id)), "product", product_id, "product_id"
        )

    async def _read(self, query: Callable[[CatalogTransaction], T]) -> T:
        def run() -> T:
            with self._store.reading() as tx:
                return query(tx)

        return await asyncio.to_thread(run)

    async def list_products(self, *, after: str | None, limit: int) -> list[Product]:
        return await asyncio.to_thread(self._store.list_products, after=after, limit=limit)

    async def create_price(self, message: pb.Price) -> CatalogPrice:
        if not message.product_id:
            raise InvalidArgument.field("price.product_id", "is required")
        price = replace(catalog_price_from_wire(message), id=str(uuid.uuid4()), created_at=self._clock())

        def write(tx: CatalogTransaction) -> None:
            _found(tx.product(price.product_id), "product", price.product_id, "price.product_id")
            tx.add_price(price)

        await asyncio.to_thread(self._write, write)
        return price

    async def get_price(self, price_id: str) -> CatalogPrice:
        return _found(await self._read(lambda tx: tx.price(price_id)), "price", price_id, "price_id")

    async def list_prices(self, *, product_id: str, after: str | None, limit: int) -> list[CatalogPrice]:
        return await asyncio.to_thread(
            self._store.list_prices, product_id=product_id, after=after, limit=limit
        )

    async def create_plan(self, name: str, description: str) -> Plan:
        plan = Plan(str(uuid.uuid4()), validate_name(name, "plan"), description.strip(), 0, self._clock())
        await asyncio.to_thread(self._write, lambda tx: tx.add_plan(plan))
        return plan

    async def get_plan(self, plan_id: str) -> tuple[Plan, PlanVersionTerms | None]:
        def read(tx: CatalogTransaction) -> tuple[Plan, PlanVersionTerms | None]:
            plan = _found(tx.plan(plan_id), "plan", plan_id, "plan_id")
            return plan, tx.latest_version(plan)

        return await self._read(read)

    async def list_plans(self, *, after: str | None, limit: int) -> list[Plan]:
        return await asyncio.to_thread(self._store.list_plans, after=after, limit=limit)

    async def get_plan_version(self, version_id: str) -> PlanVersionTerms:
        found = await self._read(lambda tx: tx.plan_version(version_id))
        return _found(found, "plan version", version_id, "plan_version_id")

    async def publish(self, message: pb.PlanVersion) -> PlanVersionTerms:
        """Version n+1 of the plan; versions already published, and subscriptions on them, are untouched."""

        def write(tx: CatalogTransaction) -> PlanVersionTerms:
            plan = _found(tx.plan(message.plan_id), "plan", message.plan_id, "plan_version.plan_id")
            resolved = pb.PlanVersion()
            resolved.CopyFrom(message)
            for index, charge in enumerate(resolved.charges):
                # A charge may name a stored price by id instead of spelling one out.
                if charge.price.id and charge.price.WhichOneof("model") is None:
                    field = f"plan_version.charges[{index}].price.id"
                    stored = _found(tx.price(charge.price.id), "price", charge.price.id, field)
                    charge.price.CopyFrom(catalog_price_to_wire(stored))
            terms = replace(
                plan_version_from_wire(resolved),
                id=str(uuid.uuid4()),
                plan_id=plan.id,
                version=plan.latest_version + 1,
                published_at=self._clock(),
            )
            validate_plan_version(terms)
            tx.publish(terms)
            return terms

        return await asyncio.to_thread(self._in_transaction, write)

    def _in_transaction(self, change: Callable[[CatalogTransaction], T]) -> T:
        with self._store.transaction() as tx:
            return change(tx)


def _found(value: T | None, resource: str, identifier: str, field: str) -> T:
    if not identifier:
        raise InvalidArgument.field(field, "is required")
    if value is None:
        raise NotFound(resource, identifier, field=field)
    return value


def _versions(tx: CatalogTransaction, subscription: Subscription, path: str) -> dict[str, PlanVersionTerms]:
    """Every plan version the subscription names; NotFound naming the first missing one's field."""
    versions: dict[str, PlanVersionTerms] = {}
    fields = [(subscription.plan_version_id, f"{path}.plan_version_id")] + [
        (phase.plan_version_id, f"{path}.phases[{index}].plan_version_id")
        for index, phase in enumerate(subscription.phases)
        if phase.plan_version_id
    ]
    for version_id, field in fields:
        if version_id not in versions:
            versions[version_id] = _found(tx.plan_version(version_id), "plan version", version_id, field)
    return versions


MUTABLE_SUBSCRIPTION_FIELDS = (
    "price_overrides",
    "phases",
    "end_at",
    "discounts",
    "minimum_commitment",
    "purchase_order",
    "contract_reference",
)
MAX_REFERENCE_LENGTH = 200
MAX_TERMS_BATCH = 1000


def reference(raw: str, field: str) -> str:
    """A purchase order or contract reference, trimmed; InvalidArgument naming ``field`` if it cannot be printed."""
    value = raw.strip()
    if len(value) > MAX_REFERENCE_LENGTH or "\x00" in value:
        raise InvalidArgument.field(field, f"must be at most {MAX_REFERENCE_LENGTH} characters, without NUL")
    return value


class Subscriptions:
    """Subscriptions: every change is checked in full, then stored with its SubscriptionChanged in one transaction."""

    def __init__(
        self, store: CatalogStore, wake_relay: Callable[[], None], *, clock: Callable[[], datetime] = _now
    ) -> None:
        self._store = store
        self._wake_relay = wake_relay
        self._clock = clock

    def now(self) -> datetime:
        return self._clock()

    async def _change(self, change: Callable[[CatalogTransaction], T]) -> T:
        def run() -> T:
            with self._store.transaction() as tx:
                return change(tx)

        result = await asyncio.to_thread(run)
        self._wake_relay()
        return result

    def _checked(
        self, tx: CatalogTransaction, subscription: Subscription, path: str = "subscription"
    ) -> None:
        # Shared lock: the customer's currency cannot change (UpdateCustomer) under a subscription being written.
        customer = _found(
            tx.customer(subscription.customer_id, lock="share"),
            "customer",
            subscription.customer_id,
            f"{path}.customer_id",
        )
        validate_subscription(
            subscription, _versions(tx, subscription, path), customer.details.currency, path
        )

    def _insert(self, tx: CatalogTransaction, subscription: Subscription) -> Subscription:
        now = self._clock()
        subscription = replace(subscription, id=str(uuid.uuid4()), version=1, created_at=now, updated_at=now)
        self._checked(tx, subscription)
        tx.add_subscription(subscription)
        tx.enqueue(subscription_changed(subscription, events_pb2.SUBSCRIPTION_CHANGE_KIND_CREATED, now))
        return subscription

    async def create(self, subscription: Subscription) -> Subscription:
        created = await self._change(lambda tx: self._insert(tx, subscription))
        trace.get_current_span().set_attribute(attributes.CUSTOMER, created.customer_id)
        return created

    async def get(self, subscription_id: str) -> Subscription:
        def read() -> Subscription | None:
            with self._store.reading() as tx:
                return tx.subscription(subscription_id)

        found = await asyncio.to_thread(read)
        return _found(found, "subscription", subscription_id, "subscription_id")

    async def list(
        self, *, customer_id: str, status: SubscriptionStatus | None, after: str | None, limit: int
    ) -> list[Subscription]:
        return await asyncio.to_thread(
            self._store.list_subscriptions,
            customer_id=customer_id,
            status=status,
            now=self._clock(),
            after=after,
            limit=limit,
        )

    def _amend(
        self,
        tx: CatalogTransaction,
        subscription_id: str,
        field: str,
        amend: Callable[[Subscription], Subscription],
        kind: events_pb2.SubscriptionChangeKind,
    ) -> Subscription:
        current = _found(tx.subscription(subscription_id), "subscription", subscription_id, field)
        now = self._clock()
        changed = replace(amend(current), version=current.version + 1, updated_at=now)
        self._checked(tx, changed)
        tx.replace_subscription(changed)
        tx.enqueue(subscription_changed(changed, kind, now))
        return changed

    async def update(
        self, subscription_id: str, paths: Sequence[str], wanted: pb.Subscription
    ) -> Subscription:
        unknown = [p for p in paths if p not in MUTABLE_SUBSCRIPTION_FIELDS]
        if unknown:
            raise InvalidArgument.field(
                "update_mask",
                f"cannot change {unknown}: only {', '.join(MUTABLE_SUBSCRIPTION_FIELDS)} are mutable",
            )
        paths = paths or MUTABLE_SUBSCRIPTION_FIELDS
        overrides = overrides_from_wire(wanted.price_overrides, field="subscription.price_overrides")
        phases = phases_from_wire(wanted.phases, field="subscription.phases")
        end_at = timestamp_from_wire(wanted.end_at)
        discounts = discounts_from_wire(wanted.discounts, field="subscription.discounts")
        minimum = minimum_from_wire(wanted, field="subscription.minimum_commitment")
        purchase_order = reference(wanted.purchase_order, "subscription.purchase_order")
        contract = reference(wanted.contract_reference, "subscription.contract_reference")

        def amend(current: Subscription) -> Subscription:
            return replace(
                current,
                purchase_order=purchase_order if "purchase_order" in paths else current.purchase_order,
                contract_reference=contract if "contract_reference" in paths else current.contract_reference,
                overrides=overrides if "price_overrides" in paths else current.overrides,
                phases=phases if "phases" in paths else current.phases,
                end_at=end_at if "end_at" in paths else current.end_at,
                discounts=discounts if "discounts" in paths else current.discounts,
                minimum_commitment=minimum if "minimum_commitment" in paths else current.minimum_commitment,
            )

        return await self._change(
            lambda tx: self._amend(
                tx, subscription_id, "subscription.id", amend, events_pb2.SUBSCRIPTION_CHANGE_KIND_AMENDED
            )
        )

    async def cancel(self, subscription_id: str, cancel_at: datetime | None, reason: str) -> Subscription:
        """Cancel at ``cancel_at``, or at the end of the billing period running now."""

        def amend(current: Subscription) -> Subscription:
            at = cancel_at
            if at is None:
                at = billing_period(
                    current.start_at, current.billing_cycle, current.billing_anchor, self._clock()
                ).end
            return replace(current, cancel_at=at, cancel_reason=reason.strip())

        return await self._change(
            lambda tx: self._amend(
                tx, subscription_id, "subscription_id", amend, events_pb2.SUBSCRIPTION_CHANGE_KIND_CANCELED
            )
        )

    async def migrate(
        self, subscription_id: str, version_id: str, effective_at: datetime | None, *, keep_overrides: bool
    ) -> Subscription:
        """Moves the subscription to another version from ``effective_at`` (default: the next billing period)."""

        def change(tx: CatalogTransaction) -> Subscription:
            target = _found(tx.plan_version(version_id), "plan version", version_id, "plan_version_id")

            def amend(current: Subscription) -> Subscription:
                at = effective_at
                if at is None:
                    at = billing_period(
                        current.start_at, current.billing_cycle, current.billing_anchor, self._clock()
                    ).end
                return migrate(current, target, at, keep_overrides=keep_overrides)

            return self._amend(
                tx, subscription_id, "subscription_id", amend, events_pb2.SUBSCRIPTION_CHANGE_KIND_MIGRATED
            )

        return await self._change(change)

    async def effective_terms(self, subscription_id: str, at: datetime | None) -> EffectiveTerms:
        def read() -> EffectiveTerms:
            with self._store.reading() as tx:
                subscription = _found(
                    tx.subscription(subscription_id), "subscription", subscription_id, "subscription_id"
                )
                versions = _versions(tx, subscription, "subscription")
                return resolve_terms(subscription, versions, at or self._clock())

        return await asyncio.to_thread(read)

    async def batch_effective_terms(
        self, lookups: Sequence[tuple[str, datetime | None]]
    ) -> Sequence[EffectiveTerms | DomainError]:
        """Terms for each (subscription id, instant), in one read; a lookup that fails carries its error."""
        if len(lookups) > MAX_TERMS_BATCH:
            raise InvalidArgument.field(
                "requests", f"at most {MAX_TERMS_BATCH} lookups per call, got {len(lookups)}"
            )
        now = self._clock()

        def read() -> list[EffectiveTerms | DomainError]:
            answers: list[EffectiveTerms | DomainError] = []
            versions: dict[str, PlanVersionTerms] = {}
            with self._store.reading() as tx:
                for index, (subscription_id, at) in enumerate(lookups):
                    path = f"requests[{index}]"
                    try:
                        if not subscription_id:
                            raise InvalidArgument.field(f"{path}.subscription_id", "is required")
                        subscription = _found(
                            tx.subscription(subscription_id),
                            "subscription",
                            subscription_id,
                            f"{path}.subscription_id",
                        )
                        needed = {subscription.plan_version_id} | {
                            p.plan_version_id for p in subscription.phases if p.plan_version_id
                        }
                        for version_id in needed - versions.keys():
                            versions[version_id] = _found(
                                tx.plan_version(version_id),
                                "plan version",
                                version_id,
                                f"{path}.plan_version_id",
                            )
                        answers.append(resolve_terms(subscription, versions, at or now))
                    except DomainError as exc:
                        answers.append(exc)
            return answers

        return await asyncio.to_thread(read)

    async def accept_quote(self, consumer: str, msg_id: str, accepted: AcceptedQuote) -> str:
        """The quote's customer (a prospect), subscription and prepaid credit, in one transaction with its
        SubscriptionChanged: once per message (inbox) and once per quote (a quote has one subscription)."""

        def apply(tx: CatalogTransaction) -> str:
            if not tx.claim(consumer, msg_id):
                return "message already applied"
            existing = tx.subscription_by_quote(accepted.quote_id)
            if existing is not None:
                return f"subscription {existing.id} was made for this quote already"
            customer_id = accepted.subscription.customer_id
            if accepted.prospect is not None:
                customer_id = self._prospect(tx, accepted.prospect).id
            created = self._insert(tx, replace(accepted.subscription, customer_id=customer_id))
            if accepted.prepaid_credit is not None:
                self._prepaid(tx, accepted, created)
            return f"subscription {created.id} created for customer {customer_id}"

        return await self._change(apply)

    def _prospect(self, tx: CatalogTransaction, prospect: CustomerInput) -> Customer:
        """The customer a prospect becomes: the one with its external id if someone made it meanwhile (an
        earlier quote for the same prospect), else a new one announced by CustomerChanged."""
        details = validate_customer(prospect, path="quote.prospect")
        found = tx.customer_by_external_id(details.external_id)
        if found is not None:
            return found
        now = self._clock()
        customer = Customer(id=str(uuid.uuid4()), details=details, version=1, created_at=now, updated_at=now)
        tx.add_customer(customer)
        tx.enqueue(customer_created(customer))
        return customer

    def _prepaid(self, tx: CatalogTransaction, accepted: AcceptedQuote, subscription: Subscription) -> None:
        """The prepaid credit bought with the quote: usable from the start, until the end of the term."""
        assert accepted.prepaid_credit is not None
        customer = _found(
            tx.customer(subscription.customer_id), "customer", subscription.customer_id, "quote.customer_id"
        )
        grant = CreditGrant(
            id=str(uuid.uuid4()),
            customer_id=subscription.customer_id,
            amount=accepted.prepaid_credit,
            cost_basis=Decimal(1),
            expires_at=subscription.end_at,
            effective_at=subscription.start_at,
            description=f"Prepaid credit, quote {accepted.quote_number or accepted.quote_id}",
            created_at=self._clock(),
        )
        validate_credit_grant(grant, customer.details.currency, path="quote.prepaid_credit")
        tx.add_credit_grant(grant)


class LegalEntities:
    """Legal entities issuing invoices: validated in full, their number prefixes unique and fixed once set."""

    def __init__(self, store: CatalogStore, *, clock: Callable[[], datetime] = _now) -> None:
        self._store = store
        self._clock = clock

    async def create(self, entity: LegalEntity) -> LegalEntity:
        now = self._clock()
        created = validate_legal_entity(replace(entity, id=str(uuid.uuid4()), created_at=now, updated_at=now))

        def write() -> None:
            with self._store.transaction() as tx:
                _prefix_free(tx, created)
                tx.add_legal_entity(created)

        await asyncio.to_thread(write)
        return created

    async def update(self, entity_id: str, paths: Sequence[str], wanted: LegalEntity) -> LegalEntity:
        def write() -> LegalEntity:
            with self._store.transaction() as tx:
                current = _found(tx.legal_entity(entity_id), "legal entity", entity_id, "legal_entity.id")
                fields = legal_entity_update_fields(paths, current)
                merged = replace(
                    current,
                    **{name: getattr(wanted, name) for name in fields},
                    updated_at=max(self._clock(), current.updated_at or self._clock()),
                )
                updated = validate_legal_entity(merged)
                _prefix_free(tx, updated)
                tx.replace_legal_entity(updated)
                return updated

        return await asyncio.to_thread(write)

    async def get(self, entity_id: str) -> LegalEntity:
        def read() -> LegalEntity | None:
            with self._store.reading() as tx:
                return tx.legal_entity(entity_id)

        return _found(await asyncio.to_thread(read), "legal entity", entity_id, "legal_entity_id")

    async def list(self, *, after: str | None, limit: int) -> list[LegalEntity]:
        return await asyncio.to_thread(self._store.list_legal_entities, after=after, limit=limit)


def _prefix_free(tx: CatalogTransaction, entity: LegalEntity) -> None:
    if entity.number_prefix and tx.number_prefix_taken(entity.number_prefix, by_other_than=entity.id):
        raise AlreadyExists("number series", entity.number_prefix, field="legal_entity.number_prefix")


class CreditGrants:
    """Credit grants: the customer must exist and be invoiced in the grant's currency."""

    def __init__(self, store: CatalogStore, *, clock: Callable[[], datetime] = _now) -> None:
        self._store = store
        self._clock = clock

    async def create(self, grant: CreditGrant) -> CreditGrant:
        grant = replace(grant, id=str(uuid.uuid4()), created_at=self._clock())

        def write() -> None:
            with self._store.transaction() as tx:
                customer = _found(
                    tx.customer(grant.customer_id), "customer", grant.customer_id, "credit_grant.customer_id"
                )
                validate_credit_grant(grant, customer.details.currency)
                tx.add_credit_grant(grant)

        await asyncio.to_thread(write)
        return grant

    async def list(self, *, customer_id: str, after: str | None, limit: int) -> list[CreditGrant]:
        """One customer's grants, or every customer's when ``customer_id`` is empty."""
        return await asyncio.to_thread(
            self._store.list_credit_grants, customer_id=customer_id, after=after, limit=limit
        )
