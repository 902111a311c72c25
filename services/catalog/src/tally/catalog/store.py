"""Catalog's tables: customers, products, prices, plans, subscriptions, credit grants; events commit with changes."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import (
    Boolean,
    Column,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    and_,
    insert,
    not_,
    select,
    update,
)
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from tally.catalog.domain import (
    Address,
    BillingAnchor,
    BillingCycle,
    CatalogPrice,
    CreditGrant,
    Customer,
    CustomerDetails,
    LegalEntity,
    Plan,
    PlanVersionTerms,
    Product,
    Subscription,
    SubscriptionStatus,
)
from tally.catalog.stored_terms import (
    VersionTerms,
    dump_plan_version,
    dump_price,
    dump_subscription_terms,
    load_plan_version,
    load_price,
    load_subscription_terms,
)
from tally.domain.errors import AlreadyExists, Conflict
from tally.money import Money
from tally.persistence import inbox, outbox
from tally.persistence.types import DecimalText, UtcDateTime

metadata = MetaData()

Lock = Literal["share", "update"] | None
"""How a read holds its row to commit: ``share`` (FOR SHARE) blocks writers, ``update`` (FOR UPDATE) any locker."""

customers = Table(
    "customers",
    metadata,
    Column("id", Text, primary_key=True),
    Column("external_id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("email", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("billing_address", Text, nullable=False),
    Column("tax_id", Text, nullable=False),
    Column("tax_rate_percent", Text, nullable=True),
    Column("tax_exempt", Boolean, nullable=False),
    Column("erp_ids", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("legal_entity_id", Text, nullable=True),
    Column("documents", Text, nullable=False, server_default="{}"),
    UniqueConstraint("external_id", name="uq_customers_external_id"),
)
"""``documents`` holds how its documents are addressed, printed and taxed (billing e-mails, locale, tax name,
jurisdiction, reverse charge, exemption reason) as JSON."""

legal_entities = Table(
    "legal_entities",
    metadata,
    Column("id", Text, primary_key=True),
    Column("legal_name", Text, nullable=False),
    Column("details", Text, nullable=False),
    Column("logo", LargeBinary, nullable=True),
    Column("number_prefix", Text, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("number_prefix", name="uq_legal_entities_number_prefix"),
)
"""``details`` holds the address, tax and registration ids, e-mail, remittance lines, payment terms and locale
as JSON; ``number_prefix`` is NULL when the entity uses the install's series."""


@dataclass(frozen=True)
class OutboxMessage:
    """An event to publish if, and only if, the transaction writing it commits."""

    subject: str
    msg_id: str
    payload: bytes


def _row(customer: Customer) -> dict[str, Any]:
    details = customer.details
    return {
        "id": customer.id,
        "external_id": details.external_id,
        "name": details.name,
        "email": details.email,
        "currency": details.currency,
        "billing_address": json.dumps(dataclasses.asdict(details.billing_address), sort_keys=True),
        "tax_id": details.tax_id,
        "tax_rate_percent": None if details.tax_rate_percent is None else str(details.tax_rate_percent),
        "tax_exempt": details.tax_exempt,
        "erp_ids": json.dumps(dict(details.erp_ids), sort_keys=True),
        "version": customer.version,
        "created_at": customer.created_at,
        "updated_at": customer.updated_at,
        "legal_entity_id": details.legal_entity_id or None,
        "documents": json.dumps(
            {
                "billing_emails": list(details.billing_emails),
                "locale": details.locale,
                "tax_name": details.tax_name,
                "tax_jurisdiction": details.tax_jurisdiction,
                "reverse_charge": details.reverse_charge,
                "tax_exempt_reason": details.tax_exempt_reason,
            },
            sort_keys=True,
        ),
    }


def _customer(row: RowMapping) -> Customer:
    rate = row["tax_rate_percent"]
    documents = json.loads(row["documents"])
    return Customer(
        id=row["id"],
        details=CustomerDetails(
            external_id=row["external_id"],
            name=row["name"],
            currency=row["currency"],
            email=row["email"],
            billing_address=Address(**json.loads(row["billing_address"])),
            tax_id=row["tax_id"],
            tax_rate_percent=None if rate is None else Decimal(rate),
            tax_exempt=row["tax_exempt"],
            erp_ids=json.loads(row["erp_ids"]),
            legal_entity_id=row["legal_entity_id"] or "",
            billing_emails=tuple(documents.get("billing_emails", ())),
            locale=documents.get("locale", ""),
            tax_name=documents.get("tax_name", ""),
            tax_jurisdiction=documents.get("tax_jurisdiction", ""),
            reverse_charge=documents.get("reverse_charge", False),
            tax_exempt_reason=documents.get("tax_exempt_reason", ""),
        ),
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class CustomerStore:
    """The customers table; every change commits with its CustomerChanged event."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, customer: Customer, changed: OutboxMessage) -> None:
        """Insert ``customer`` and enqueue ``changed``; AlreadyExists if its external id is taken."""
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(customers).values(_row(customer)))
                outbox.enqueue(conn, changed.subject, changed.payload, changed.msg_id)
        except IntegrityError as exc:
            if self._external_id_taken(customer.details.external_id):
                raise AlreadyExists(
                    "customer", customer.details.external_id, field="customer.external_id"
                ) from exc
            raise

    def _external_id_taken(self, external_id: str) -> bool:
        with self._engine.connect() as conn:
            found = conn.execute(select(customers.c.id).where(customers.c.external_id == external_id))
            return found.first() is not None

    @contextmanager
    def transaction(self) -> Iterator[CatalogTransaction]:
        """One transaction for a read-check-write of a customer and its event."""
        with self._engine.begin() as conn:
            yield CatalogTransaction(conn)

    def get(self, customer_id: str) -> Customer | None:
        return self._one(customers.c.id == customer_id)

    def get_by_external_id(self, external_id: str) -> Customer | None:
        return self._one(customers.c.external_id == external_id)

    def _one(self, where: Any) -> Customer | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(customers).where(where)).mappings().first()
        return None if row is None else _customer(row)

    def list(self, *, after_external_id: str | None, limit: int) -> list[Customer]:
        """Customers ordered by external id, starting after ``after_external_id``."""
        query = select(customers).order_by(customers.c.external_id).limit(limit)
        if after_external_id is not None:
            query = query.where(customers.c.external_id > after_external_id)
        with self._engine.connect() as conn:
            return [_customer(row) for row in conn.execute(query).mappings()]


products = Table(
    "products",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

prices = Table(
    "prices",
    metadata,
    Column("id", Text, primary_key=True),
    Column("product_id", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("meter_id", Text, nullable=False),
    Column("model", Text, nullable=False),
    Column("terms", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

plans = Table(
    "plans",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("latest_version", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

plan_versions = Table(
    "plan_versions",
    metadata,
    Column("id", Text, primary_key=True),
    Column("plan_id", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("currency", Text, nullable=False),
    Column("terms", Text, nullable=False),
    Column("published_at", UtcDateTime(), nullable=False),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", Text, primary_key=True),
    Column("customer_id", Text, nullable=False),
    Column("plan_version_id", Text, nullable=False),
    Column("start_at", UtcDateTime(), nullable=False),
    Column("billing_cycle", Text, nullable=False),
    Column("billing_anchor", Text, nullable=False),
    Column("end_at", UtcDateTime(), nullable=True),
    Column("cancel_at", UtcDateTime(), nullable=True),
    Column("cancel_reason", Text, nullable=False),
    Column("terms", Text, nullable=False),
    Column("quote_id", Text, nullable=True),
    Column("quote_version", Integer, nullable=False),
    Column("document_references", Text, nullable=False, server_default="{}"),
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

credit_grants = Table(
    "credit_grants",
    metadata,
    Column("id", Text, primary_key=True),
    Column("customer_id", Text, nullable=False),
    Column("amount", DecimalText, nullable=False),
    Column("currency", Text, nullable=False),
    Column("cost_basis", DecimalText, nullable=False),
    Column("expires_at", UtcDateTime(), nullable=True),
    Column("priority", Integer, nullable=False),
    Column("effective_at", UtcDateTime(), nullable=True),
    Column("description", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("kind", Text, nullable=False, server_default="PREPAID"),
)


def _price_row(price: CatalogPrice) -> dict[str, Any]:
    assert price.created_at is not None
    return {
        "id": price.id,
        "product_id": price.product_id,
        "currency": price.model.currency,
        "meter_id": price.meter_id,
        "model": price.model.model,
        "terms": dump_price(price.model),
        "created_at": price.created_at,
    }


def _price(row: RowMapping) -> CatalogPrice:
    model = load_price(row["terms"], f"prices[{row['id']}].terms")
    return CatalogPrice(model, row["id"], row["product_id"], row["meter_id"], row["created_at"])


def _version_row(terms: PlanVersionTerms) -> dict[str, Any]:
    return {
        "id": terms.id,
        "plan_id": terms.plan_id,
        "version": terms.version,
        "currency": terms.currency,
        "terms": dump_plan_version(
            VersionTerms(terms.charges, terms.minimum_commitment, terms.maximum, terms.discounts)
        ),
        "published_at": terms.published_at,
    }


def _version(row: RowMapping) -> PlanVersionTerms:
    stored = load_plan_version(row["terms"], f"plan_versions[{row['id']}].terms")
    return PlanVersionTerms(
        id=row["id"],
        plan_id=row["plan_id"],
        version=row["version"],
        currency=row["currency"],
        charges=stored.charges,
        minimum_commitment=stored.minimum_commitment,
        maximum=stored.maximum,
        discounts=stored.discounts,
        published_at=row["published_at"],
    )


def _subscription_row(subscription: Subscription) -> dict[str, Any]:
    return {
        "id": subscription.id,
        "customer_id": subscription.customer_id,
        "plan_version_id": subscription.plan_version_id,
        "start_at": subscription.start_at,
        "billing_cycle": subscription.billing_cycle.name,
        "billing_anchor": subscription.billing_anchor.value,
        "end_at": subscription.end_at,
        "cancel_at": subscription.cancel_at,
        "cancel_reason": subscription.cancel_reason,
        "terms": dump_subscription_terms(subscription),
        "quote_id": subscription.quote_id or None,
        "quote_version": subscription.quote_version,
        "document_references": json.dumps(
            {
                "quote_number": subscription.quote_number,
                "purchase_order": subscription.purchase_order,
                "contract_reference": subscription.contract_reference,
            },
            sort_keys=True,
        ),
        "version": subscription.version,
        "created_at": subscription.created_at,
        "updated_at": subscription.updated_at,
    }


def _subscription(row: RowMapping) -> Subscription:
    terms = load_subscription_terms(row["terms"], f"subscriptions[{row['id']}].terms")
    references = json.loads(row["document_references"])
    return Subscription(
        id=row["id"],
        customer_id=row["customer_id"],
        plan_version_id=row["plan_version_id"],
        start_at=row["start_at"],
        billing_cycle=BillingCycle[row["billing_cycle"]],
        billing_anchor=BillingAnchor(row["billing_anchor"]),
        end_at=row["end_at"],
        cancel_at=row["cancel_at"],
        cancel_reason=row["cancel_reason"],
        overrides=terms.overrides,
        phases=terms.phases,
        discounts=terms.discounts,
        minimum_commitment=terms.minimum_commitment,
        quote_id=row["quote_id"] or "",
        quote_version=row["quote_version"],
        quote_number=references.get("quote_number", ""),
        purchase_order=references.get("purchase_order", ""),
        contract_reference=references.get("contract_reference", ""),
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _grant_row(grant: CreditGrant) -> dict[str, Any]:
    return {
        "id": grant.id,
        "customer_id": grant.customer_id,
        "amount": grant.amount.amount,
        "currency": grant.amount.currency,
        "cost_basis": grant.cost_basis,
        "expires_at": grant.expires_at,
        "priority": grant.priority,
        "effective_at": grant.effective_at,
        "description": grant.description,
        "created_at": grant.created_at,
        "kind": "PROMOTIONAL" if grant.promotional else "PREPAID",
    }


def _grant(row: RowMapping) -> CreditGrant:
    return CreditGrant(
        id=row["id"],
        customer_id=row["customer_id"],
        amount=Money(row["amount"], row["currency"]),
        cost_basis=row["cost_basis"],
        expires_at=row["expires_at"],
        priority=row["priority"],
        effective_at=row["effective_at"],
        description=row["description"],
        created_at=row["created_at"],
        promotional=row["kind"] == "PROMOTIONAL",
    )


def _status_filter(status: SubscriptionStatus, now: datetime) -> ColumnElement[bool]:
    s = subscriptions.c
    canceled = and_(s.cancel_at.is_not(None), s.cancel_at <= now)
    ended = and_(s.end_at.is_not(None), s.end_at <= now)
    if status is SubscriptionStatus.CANCELED:
        return canceled
    if status is SubscriptionStatus.ENDED:
        return and_(not_(canceled), ended)
    running = and_(not_(canceled), not_(ended))
    if status is SubscriptionStatus.SCHEDULED:
        return and_(running, s.start_at > now)
    return and_(running, s.start_at <= now)


def _legal_entity_row(entity: LegalEntity) -> dict[str, Any]:
    return {
        "id": entity.id,
        "legal_name": entity.legal_name,
        "details": json.dumps(
            {
                "address": dataclasses.asdict(entity.address),
                "tax_id": entity.tax_id,
                "registration_id": entity.registration_id,
                "email": entity.email,
                "remittance_lines": list(entity.remittance_lines),
                "payment_terms_days": entity.payment_terms_days,
                "locale": entity.locale,
            },
            sort_keys=True,
        ),
        "logo": entity.logo or None,
        "number_prefix": entity.number_prefix or None,
        "created_at": entity.created_at,
        "updated_at": entity.updated_at,
    }


def _legal_entity(row: RowMapping) -> LegalEntity:
    details = json.loads(row["details"])
    return LegalEntity(
        id=row["id"],
        legal_name=row["legal_name"],
        address=Address(**details["address"]),
        tax_id=details["tax_id"],
        registration_id=details["registration_id"],
        email=details["email"],
        remittance_lines=tuple(details["remittance_lines"]),
        logo=row["logo"] or b"",
        number_prefix=row["number_prefix"] or "",
        payment_terms_days=details["payment_terms_days"],
        locale=details["locale"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class CatalogTransaction:
    """One transaction over catalog's tables: reads see its writes, and events commit with them (outbox)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _one(self, table: Table, where: Any) -> RowMapping | None:
        return self.conn.execute(select(table).where(where)).mappings().first()

    def enqueue(self, message: OutboxMessage) -> None:
        outbox.enqueue(self.conn, message.subject, message.payload, message.msg_id)

    def claim(self, consumer: str, msg_id: str) -> bool:
        return inbox.claim(self.conn, consumer, msg_id)

    def customer(self, customer_id: str, *, lock: Lock = None) -> Customer | None:
        """The customer; ``lock`` holds its row to the end of the transaction (PostgreSQL; SQLite has one writer)."""
        query = select(customers).where(customers.c.id == customer_id)
        if lock is not None:
            query = query.with_for_update(read=lock == "share")
        row = self.conn.execute(query).mappings().first()
        return None if row is None else _customer(row)

    def customer_by_external_id(self, external_id: str) -> Customer | None:
        row = self._one(customers, customers.c.external_id == external_id)
        return None if row is None else _customer(row)

    def add_customer(self, customer: Customer) -> None:
        self.conn.execute(insert(customers).values(_row(customer)))

    def replace_customer(self, customer: Customer) -> None:
        """Store the next version of a customer; Conflict if it changed since it was read."""
        changed = self.conn.execute(
            update(customers)
            .where(customers.c.id == customer.id, customers.c.version == customer.version - 1)
            .values(_row(customer))
        )
        if changed.rowcount != 1:
            raise Conflict(f"customer {customer.id} changed concurrently; read it again and retry")

    def has_subscriptions(self, customer_id: str) -> bool:
        query = select(subscriptions.c.id).where(subscriptions.c.customer_id == customer_id).limit(1)
        return self.conn.execute(query).first() is not None

    def add_product(self, product: Product) -> None:
        self.conn.execute(insert(products).values(**dataclasses.asdict(product)))

    def product(self, product_id: str) -> Product | None:
        row = self._one(products, products.c.id == product_id)
        if row is None:
            return None
        return Product(row["id"], row["name"], row["description"], row["created_at"])

    def add_price(self, price: CatalogPrice) -> None:
        self.conn.execute(insert(prices).values(_price_row(price)))

    def price(self, price_id: str) -> CatalogPrice | None:
        row = self._one(prices, prices.c.id == price_id)
        return None if row is None else _price(row)

    def add_plan(self, plan: Plan) -> None:
        self.conn.execute(insert(plans).values(**dataclasses.asdict(plan)))

    def plan(self, plan_id: str) -> Plan | None:
        row = self._one(plans, plans.c.id == plan_id)
        if row is None:
            return None
        return Plan(row["id"], row["name"], row["description"], row["latest_version"], row["created_at"])

    def publish(self, terms: PlanVersionTerms) -> None:
        """Store ``terms`` as the plan's next version; Conflict if another publish took that number first."""
        bumped = self.conn.execute(
            update(plans)
            .where(plans.c.id == terms.plan_id, plans.c.latest_version == terms.version - 1)
            .values(latest_version=terms.version)
        )
        if bumped.rowcount != 1:
            raise Conflict(f"plan {terms.plan_id} got version {terms.version} concurrently; publish again")
        self.conn.execute(insert(plan_versions).values(_version_row(terms)))

    def plan_version(self, version_id: str) -> PlanVersionTerms | None:
        row = self._one(plan_versions, plan_versions.c.id == version_id)
        return None if row is None else _version(row)

    def latest_version(self, plan: Plan) -> PlanVersionTerms | None:
        row = self._one(
            plan_versions,
            and_(plan_versions.c.plan_id == plan.id, plan_versions.c.version == plan.latest_version),
        )
        return None if row is None else _version(row)

    def add_subscription(self, subscription: Subscription) -> None:
        self.conn.execute(insert(subscriptions).values(_subscription_row(subscription)))

    def replace_subscription(self, subscription: Subscription) -> None:
        """Store the next version of a subscription; Conflict if it changed since it was read."""
        changed = self.conn.execute(
            update(subscriptions)
            .where(subscriptions.c.id == subscription.id, subscriptions.c.version == subscription.version - 1)
            .values(_subscription_row(subscription))
        )
        if changed.rowcount != 1:
            raise Conflict(f"subscription {subscription.id} changed concurrently; read it again and retry")

    def subscription(self, subscription_id: str) -> Subscription | None:
        row = self._one(subscriptions, subscriptions.c.id == subscription_id)
        return None if row is None else _subscription(row)

    def subscription_by_quote(self, quote_id: str) -> Subscription | None:
        row = self._one(subscriptions, subscriptions.c.quote_id == quote_id)
        return None if row is None else _subscription(row)

    def legal_entity(self, entity_id: str) -> LegalEntity | None:
        row = self._one(legal_entities, legal_entities.c.id == entity_id)
        return None if row is None else _legal_entity(row)

    def number_prefix_taken(self, prefix: str, *, by_other_than: str = "") -> bool:
        found = self.conn.execute(
            select(legal_entities.c.id).where(
                legal_entities.c.number_prefix == prefix, legal_entities.c.id != by_other_than
            )
        )
        return found.first() is not None

    def add_legal_entity(self, entity: LegalEntity) -> None:
        self.conn.execute(insert(legal_entities).values(_legal_entity_row(entity)))

    def replace_legal_entity(self, entity: LegalEntity) -> None:
        self.conn.execute(
            update(legal_entities).where(legal_entities.c.id == entity.id).values(_legal_entity_row(entity))
        )

    def add_credit_grant(self, grant: CreditGrant) -> None:
        self.conn.execute(insert(credit_grants).values(_grant_row(grant)))


class CatalogStore:
    """Products, prices, plans and versions, subscriptions and credit grants."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @contextmanager
    def transaction(self) -> Iterator[CatalogTransaction]:
        with self._engine.begin() as conn:
            yield CatalogTransaction(conn)

    @contextmanager
    def reading(self) -> Iterator[CatalogTransaction]:
        with self._engine.connect() as conn:
            yield CatalogTransaction(conn)

    def _page(self, table: Table, where: list[Any], after: str | None, limit: int) -> list[RowMapping]:
        query = select(table).where(*where).order_by(table.c.id).limit(limit)
        if after is not None:
            query = query.where(table.c.id > after)
        with self._engine.connect() as conn:
            return list(conn.execute(query).mappings())

    def list_products(self, *, after: str | None, limit: int) -> list[Product]:
        rows = self._page(products, [], after, limit)
        return [Product(r["id"], r["name"], r["description"], r["created_at"]) for r in rows]

    def list_prices(self, *, product_id: str, after: str | None, limit: int) -> list[CatalogPrice]:
        where = [prices.c.product_id == product_id] if product_id else []
        return [_price(row) for row in self._page(prices, where, after, limit)]

    def list_plans(self, *, after: str | None, limit: int) -> list[Plan]:
        rows = self._page(plans, [], after, limit)
        return [
            Plan(r["id"], r["name"], r["description"], r["latest_version"], r["created_at"]) for r in rows
        ]

    def list_subscriptions(
        self,
        *,
        customer_id: str,
        status: SubscriptionStatus | None,
        now: datetime,
        after: str | None,
        limit: int,
    ) -> list[Subscription]:
        where: list[Any] = [subscriptions.c.customer_id == customer_id] if customer_id else []
        if status is not None:
            where.append(_status_filter(status, now))
        return [_subscription(row) for row in self._page(subscriptions, where, after, limit)]

    def list_legal_entities(self, *, after: str | None, limit: int) -> list[LegalEntity]:
        return [_legal_entity(row) for row in self._page(legal_entities, [], after, limit)]

    def list_credit_grants(self, *, customer_id: str, after: str | None, limit: int) -> list[CreditGrant]:
        where = [credit_grants.c.customer_id == customer_id] if customer_id else []
        rows = self._page(credit_grants, where, after, limit)
        return [_grant(row) for row in rows]
