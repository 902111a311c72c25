"""Catalog's products, prices, plan versions, subscriptions, terms and quotes, against a real process."""

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import grpc
import pytest
import sqlalchemy
from google.protobuf.timestamp_pb2 import Timestamp

from tally.api.catalog.v1 import catalog_service_pb2 as pb
from tally.api.catalog.v1 import catalog_service_pb2_grpc as pb_grpc
from tally.api.catalog.v1 import events_pb2
from tally.api.common.v1 import money_pb2, pagination_pb2
from tally.api.quoting.v1 import events_pb2 as quoting_events
from tally.mesh import jetstream, streams
from tally.mesh.errors import field_violations
from tally.persistence.engine import create_engine
from tally.testing.services import ServiceProcess

TABLES = ("products", "prices", "plans", "plan_versions", "subscriptions", "credit_grants", "outbox")


@pytest.fixture
def catalog(tmp_path, nats_server, database_url):
    service = ServiceProcess("catalog", "tally.catalog", database_url, nats_server.url, tmp_path / "catalog")
    service.start()
    yield service
    service.kill()


@pytest.fixture
def stub(catalog):
    with grpc.insecure_channel(catalog.target) as channel:
        raw = pb_grpc.CatalogServiceStub(channel)

        class Authed:
            def __getattr__(self, name):
                method = getattr(raw, name)
                return lambda request: method(request, metadata=catalog.metadata(), timeout=10)

        yield Authed()


def at(text):
    stamp = Timestamp()
    stamp.FromDatetime(datetime.fromisoformat(text).replace(tzinfo=UTC))
    return stamp


def counts(database_url):
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return {
                t: conn.execute(sqlalchemy.text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in TABLES
            }
    finally:
        engine.dispose()


def graduated(currency="USD"):
    return pb.Price(
        currency=currency,
        meter_id="api-calls",
        graduated=pb.GraduatedPrice(
            tiers=[
                pb.Tier(up_to="5", unit_price="10.00"),
                pb.Tier(up_to="10", unit_price="8.00"),
                pb.Tier(unit_price="6.00"),
            ]
        ),
    )


def make_customer(stub, external_id="acme", currency="USD"):
    return stub.CreateCustomer(
        pb.CreateCustomerRequest(
            customer=pb.Customer(external_id=external_id, name="Acme", currency=currency)
        )
    ).customer


def make_plan(stub, unit_price="0.10"):
    product = stub.CreateProduct(pb.CreateProductRequest(product=pb.Product(name="API calls"))).product
    plan = stub.CreatePlan(pb.CreatePlanRequest(plan=pb.Plan(name="Growth"))).plan
    version = publish(stub, plan.id, unit_price)
    return product, plan, version


def publish(stub, plan_id, unit_price):
    return stub.PublishPlanVersion(
        pb.PublishPlanVersionRequest(
            plan_version=pb.PlanVersion(
                plan_id=plan_id,
                currency="USD",
                charges=[
                    pb.Charge(
                        id="platform",
                        name="Platform fee",
                        price=pb.Price(currency="USD", flat=pb.FlatPrice(amount="49.00", prorate=True)),
                    ),
                    pb.Charge(
                        id="calls",
                        name="API calls",
                        price=pb.Price(
                            currency="USD", meter_id="api-calls", unit=pb.UnitPrice(unit_price=unit_price)
                        ),
                        included_quantity="1000",
                    ),
                ],
                minimum_commitment=money_pb2.Money(amount="100", currency="USD"),
            )
        )
    ).plan_version


def subscribe(stub, customer_id, version_id, **fields):
    return stub.CreateSubscription(
        pb.CreateSubscriptionRequest(
            subscription=pb.Subscription(
                customer_id=customer_id,
                plan_version_id=version_id,
                start_at=at("2025-01-15T00:00:00"),
                billing_cycle=pb.BILLING_CYCLE_MONTHLY,
                **fields,
            )
        )
    ).subscription


def terms_at(stub, subscription_id, when):
    return stub.GetEffectiveTerms(
        pb.GetEffectiveTermsRequest(subscription_id=subscription_id, at=at(when))
    ).terms


def unit_price_of(terms, charge_id="calls"):
    (charge,) = [c for c in terms.usage_charges if c.id == charge_id]
    return charge.price.unit.unit_price


def test_rate_prices_worked_examples_over_grpc(stub):
    reply = stub.Rate(pb.RateRequest(price=graduated(), quantity="12"))
    assert (Decimal(reply.amount.amount), reply.amount.currency) == (Decimal("102.00"), "USD")
    assert [(b.tier_index, b.units, b.subtotal) for b in reply.breakdown] == [
        (1, "5", "50.00"),
        (2, "5", "40.00"),
        (3, "2", "12.00"),
    ]
    percentage = pb.Price(
        currency="USD",
        percentage=pb.PercentagePrice(
            rate_percent="2", fixed_fee="0.30", free_events=2, free_amount="100.00"
        ),
    )
    reply = stub.Rate(
        pb.RateRequest(price=percentage, event_values=pb.EventValues(values=["40", "70", "50", "0"]))
    )
    assert Decimal(reply.amount.amount) == Decimal("2.10")
    matrix = pb.Price(
        currency="USD",
        matrix=pb.MatrixPrice(
            dimensions=["cluster", "region"],
            cells=[pb.MatrixCell(dimension_values=["alpha", "west"], unit_price="2.00")],
            default_unit_price="3.00",
        ),
    )
    usage = pb.MatrixUsage(
        entries=[
            pb.MatrixUsageEntry(dimension_values=["alpha", "west"], quantity="10"),
            pb.MatrixUsageEntry(dimension_values=["beta", "east"], quantity="5"),
        ]
    )
    assert Decimal(stub.Rate(pb.RateRequest(price=matrix, matrix_usage=usage)).amount.amount) == Decimal(
        "35.00"
    )


def test_bad_prices_are_refused_naming_the_field_and_leave_no_row(stub, catalog):
    product = stub.CreateProduct(pb.CreateProductRequest(product=pb.Product(name="API calls"))).product
    before = counts(catalog.database_url)
    unsorted = graduated()
    unsorted.graduated.tiers[1].up_to = "4"
    negative = pb.Price(currency="USD", unit=pb.UnitPrice(unit_price="-0.10"))
    unknown = pb.Price(currency="XXY", unit=pb.UnitPrice(unit_price="0.10"))
    for price, field in [
        (unsorted, "price.graduated.tiers[1].up_to"),
        (negative, "price.unit.unit_price"),
        (unknown, "price.currency"),
    ]:
        price.product_id = product.id
        with pytest.raises(grpc.RpcError) as refused:
            stub.CreatePrice(pb.CreatePriceRequest(price=price))
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert [v.field for v in field_violations(refused.value)] == [field]
        with pytest.raises(grpc.RpcError) as rated:
            stub.Rate(pb.RateRequest(price=price, quantity="1"))
        assert [v.field for v in field_violations(rated.value)] == [field]
    with pytest.raises(grpc.RpcError) as no_product:
        stub.CreatePrice(
            pb.CreatePriceRequest(
                price=pb.Price(product_id="nope", currency="USD", unit=pb.UnitPrice(unit_price="1"))
            )
        )
    assert no_product.value.code() == grpc.StatusCode.NOT_FOUND
    assert [v.field for v in field_violations(no_product.value)] == ["price.product_id"]
    assert counts(catalog.database_url) == before

    stored = stub.CreatePrice(
        pb.CreatePriceRequest(
            price=pb.Price(
                product_id=product.id,
                **{"currency": "USD", "meter_id": "api-calls", "graduated": graduated().graduated},
            )
        )
    ).price
    assert stub.GetPrice(pb.GetPriceRequest(price_id=stored.id)).price == stored
    listed = stub.ListPrices(pb.ListPricesRequest(product_id=product.id)).prices
    assert [p.id for p in listed] == [stored.id]
    assert Decimal(stub.Rate(pb.RateRequest(price=stored, quantity="12")).amount.amount) == Decimal("102.00")


def test_bad_subscriptions_are_refused_and_leave_no_row_and_no_event(stub, catalog):
    customer = make_customer(stub)
    _, _, version = make_plan(stub)
    before = counts(catalog.database_url)
    with pytest.raises(grpc.RpcError) as missing:
        subscribe(stub, "no-such-customer", version.id)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    assert [v.field for v in field_violations(missing.value)] == ["subscription.customer_id"]

    with pytest.raises(grpc.RpcError) as no_version:
        subscribe(stub, customer.id, "no-such-version")
    assert no_version.value.code() == grpc.StatusCode.NOT_FOUND
    assert [v.field for v in field_violations(no_version.value)] == ["subscription.plan_version_id"]

    bad_override = pb.PriceOverride(
        charge_id="calls",
        price=pb.Price(
            currency="USD",
            graduated=pb.GraduatedPrice(
                tiers=[
                    pb.Tier(up_to="10", unit_price="1"),
                    pb.Tier(up_to="5", unit_price="1"),
                    pb.Tier(unit_price="1"),
                ]
            ),
        ),
    )
    with pytest.raises(grpc.RpcError) as invalid:
        subscribe(stub, customer.id, version.id, price_overrides=[bad_override])
    assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(invalid.value)] == [
        "subscription.price_overrides[0].price.graduated.tiers[1].up_to"
    ]
    with pytest.raises(grpc.RpcError) as unknown_charge:
        subscribe(stub, customer.id, version.id, price_overrides=[pb.PriceOverride(charge_id="nope")])
    assert [v.field for v in field_violations(unknown_charge.value)] == [
        "subscription.price_overrides[0].charge_id"
    ]
    jpy = make_customer(stub, "tanaka", "JPY")
    before = counts(catalog.database_url)
    with pytest.raises(grpc.RpcError) as currency:
        subscribe(stub, jpy.id, version.id)
    assert [v.field for v in field_violations(currency.value)] == ["subscription.plan_version_id"]
    assert counts(catalog.database_url) == before


def test_plan_versions_are_immutable_and_migration_is_explicit(stub, catalog):
    customer = make_customer(stub)
    _, plan, v1 = make_plan(stub, unit_price="0.10")
    subscription = subscribe(stub, customer.id, v1.id)
    v2 = publish(stub, plan.id, "0.08")
    assert (v1.version, v2.version) == (1, 2)
    assert stub.GetPlanVersion(pb.GetPlanVersionRequest(plan_version_id=v1.id)).plan_version == v1
    got = stub.GetPlan(pb.GetPlanRequest(plan_id=plan.id))
    assert (got.plan.latest_version, got.latest_version.id) == (2, v2.id)

    terms = terms_at(stub, subscription.id, "2025-03-10T00:00:00")
    assert (terms.plan_version.id, unit_price_of(terms)) == (v1.id, "0.10")
    assert [c.id for c in terms.recurring_fees] == ["platform"]
    assert terms.usage_charges[0].included_quantity == "1000"
    assert (terms.minimum_commitment.amount, terms.currency) == ("100", "USD")
    assert terms.billing_period.start == at("2025-03-01T00:00:00")
    assert terms.billing_period.end == at("2025-04-01T00:00:00")

    migrated = stub.MigrateSubscription(
        pb.MigrateSubscriptionRequest(
            subscription_id=subscription.id, plan_version_id=v2.id, effective_at=at("2025-04-01T00:00:00")
        )
    ).subscription
    assert migrated.plan_version_id == v2.id
    assert unit_price_of(terms_at(stub, subscription.id, "2025-03-31T23:59:59")) == "0.10"
    after = terms_at(stub, subscription.id, "2025-04-01T00:00:00")
    assert (after.plan_version.id, unit_price_of(after)) == (v2.id, "0.08")

    events = asyncio.run(read_changes(catalog.nats_url, expect=2))
    assert [e.kind for e in events] == [
        events_pb2.SUBSCRIPTION_CHANGE_KIND_CREATED,
        events_pb2.SUBSCRIPTION_CHANGE_KIND_MIGRATED,
    ]
    assert events[1].subscription.plan_version_id == v2.id


def test_overrides_phases_cancel_and_listing(stub):
    customer = make_customer(stub)
    _, _, version = make_plan(stub)
    discounted = pb.PriceOverride(
        charge_id="calls", price=pb.Price(currency="USD", unit=pb.UnitPrice(unit_price="0.05"))
    )
    first_quarter = pb.SubscriptionPhase(
        start_at=at("2025-01-15T00:00:00"), end_at=at("2025-04-15T00:00:00"), price_overrides=[discounted]
    )
    mine = subscribe(
        stub, customer.id, version.id, phases=[first_quarter], billing_anchor=pb.BILLING_ANCHOR_ANNIVERSARY
    )
    other = subscribe(stub, customer.id, version.id)
    assert unit_price_of(terms_at(stub, mine.id, "2025-02-01T00:00:00")) == "0.05"
    assert unit_price_of(terms_at(stub, mine.id, "2025-04-15T00:00:00")) == "0.10"
    assert terms_at(stub, mine.id, "2025-02-20T00:00:00").billing_period.start == at("2025-02-15T00:00:00")
    assert unit_price_of(terms_at(stub, other.id, "2025-02-01T00:00:00")) == "0.10"

    override = pb.PriceOverride(charge_id="calls", included_quantity="5000")
    updated = stub.UpdateSubscription(
        pb.UpdateSubscriptionRequest(
            subscription=pb.Subscription(id=other.id, price_overrides=[override]),
            update_mask={"paths": ["price_overrides"]},
        )
    ).subscription
    assert updated.price_overrides[0].included_quantity == "5000"
    assert terms_at(stub, other.id, "2025-02-01T00:00:00").usage_charges[0].included_quantity == "5000"
    assert terms_at(stub, mine.id, "2025-05-01T00:00:00").usage_charges[0].included_quantity == "1000"

    canceled = stub.CancelSubscription(
        pb.CancelSubscriptionRequest(
            subscription_id=other.id, cancel_at=at("2025-03-01T00:00:00"), reason="moved"
        )
    ).subscription
    assert canceled.status == pb.SUBSCRIPTION_STATUS_CANCELED
    active = stub.ListSubscriptions(
        pb.ListSubscriptionsRequest(customer_id=customer.id, status=pb.SUBSCRIPTION_STATUS_ACTIVE)
    )
    assert [s.id for s in active.subscriptions] == [mine.id]
    first = stub.ListSubscriptions(pb.ListSubscriptionsRequest(page=pagination_pb2.PageRequest(page_size=1)))
    second = stub.ListSubscriptions(
        pb.ListSubscriptionsRequest(
            page=pagination_pb2.PageRequest(page_size=1, page_token=first.page.next_page_token)
        )
    )
    assert {first.subscriptions[0].id, second.subscriptions[0].id} == {mine.id, other.id}
    assert second.page.next_page_token == ""


def test_credit_grants(stub):
    customer = make_customer(stub)
    grant = stub.CreateCreditGrant(
        pb.CreateCreditGrantRequest(
            credit_grant=pb.CreditGrant(
                customer_id=customer.id,
                amount=money_pb2.Money(amount="100", currency="USD"),
                expires_at=at("2025-01-31T00:00:00"),
                cost_basis="0.00",
            )
        )
    ).credit_grant
    with pytest.raises(grpc.RpcError) as wrong:
        stub.CreateCreditGrant(
            pb.CreateCreditGrantRequest(
                credit_grant=pb.CreditGrant(
                    customer_id=customer.id,
                    amount=money_pb2.Money(amount="5", currency="EUR"),
                    cost_basis="1",
                )
            )
        )
    assert [v.field for v in field_violations(wrong.value)] == ["credit_grant.amount.currency"]
    listed = stub.ListCreditGrants(pb.ListCreditGrantsRequest(customer_id=customer.id)).credit_grants
    assert list(listed) == [grant]
    assert (grant.amount.amount, grant.cost_basis) == ("100", "0.00")


async def read_changes(nats_url, expect, quiet_s=1.0):
    nc = await jetstream.connect(nats_url, name="test-reader")
    try:
        sub = await nc.jetstream().pull_subscribe(
            streams.SUBSCRIPTION_CHANGED, durable=None, stream=streams.CATALOG.name
        )
        received = []
        deadline = asyncio.get_running_loop().time() + 15
        while asyncio.get_running_loop().time() < deadline:
            try:
                msgs = await sub.fetch(10, timeout=quiet_s)
            except TimeoutError:  # nats or asyncio: both are TimeoutError
                if len(received) >= expect:
                    break
                continue
            for msg in msgs:
                await msg.ack()
                received.append(events_pb2.SubscriptionChanged.FromString(msg.data))
        return received
    finally:
        await nc.close()


async def publish_quote(nats_url, accepted, msg_id):
    nc = await jetstream.connect(nats_url, name="test-quoting")
    try:
        await nc.jetstream().publish(
            streams.QUOTE_ACCEPTED, accepted.SerializeToString(), headers={jetstream.MSG_ID_HEADER: msg_id}
        )
    finally:
        await nc.close()


def quote_accepted(quote_id, version_id, **fields):
    """A QuoteAccepted as quoting publishes it: quarterly from 1 Feb 2025 for a year, calls at 0.07."""
    subscription = pb.Subscription(
        plan_version_id=version_id,
        start_at=at("2025-02-01T00:00:00"),
        end_at=at("2026-02-01T00:00:00"),
        billing_cycle=pb.BILLING_CYCLE_QUARTERLY,
        billing_anchor=pb.BILLING_ANCHOR_CALENDAR,
        quote_id=quote_id,
        price_overrides=[
            pb.PriceOverride(
                charge_id="calls", price=pb.Price(currency="USD", unit=pb.UnitPrice(unit_price="0.07"))
            )
        ],
    )
    return quoting_events.QuoteAccepted(
        quote_id=quote_id, quote_version=1, quote_number="Q-000042", subscription=subscription, **fields
    )


def inbox_of(database_url):
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sqlalchemy.text("SELECT msg_id FROM inbox WHERE consumer = 'catalog-quotes'")
            ).all()
    finally:
        engine.dispose()
    return sorted(r[0] for r in rows)


def test_quote_accepted_twice_makes_one_subscription_with_the_quoted_terms(stub, catalog):
    customer = make_customer(stub)
    _, _, version = make_plan(stub)
    accepted = quote_accepted("q-42", version.id, customer_id=customer.id)
    accepted.subscription.customer_id = customer.id
    asyncio.run(publish_quote(catalog.nats_url, accepted, "quote-accepted:q-42:1"))
    asyncio.run(publish_quote(catalog.nats_url, accepted, "quote-accepted:q-42:1:retry"))
    events = asyncio.run(read_changes(catalog.nats_url, expect=1, quiet_s=2.0))
    assert len(events) == 1
    listed = stub.ListSubscriptions(pb.ListSubscriptionsRequest(customer_id=customer.id)).subscriptions
    assert len(listed) == 1
    (subscription,) = listed
    assert subscription.quote_id == "q-42"
    assert subscription.end_at == at("2026-02-01T00:00:00")
    terms = terms_at(stub, subscription.id, "2025-03-01T00:00:00")
    assert unit_price_of(terms) == "0.07"
    assert terms.billing_period.start == at("2025-01-01T00:00:00")
    assert terms.billing_period.end == at("2025-04-01T00:00:00")
    assert inbox_of(catalog.database_url) == ["quote-accepted:q-42:1", "quote-accepted:q-42:1:retry"]


def test_a_prospects_quote_creates_the_customer_the_subscription_with_its_ramp_and_the_prepaid_credit(
    stub, catalog
):
    _, _, version = make_plan(stub)
    accepted = quote_accepted(
        "q-7",
        version.id,
        prospect=pb.Customer(
            external_id="initech",
            name="Initech",
            currency="USD",
            tax_rate_percent="8.5",
            email="ap@initech.test",
        ),
        prepaid_credit=money_pb2.Money(amount="1500.00", currency="USD"),
    )
    accepted.subscription.discounts.add(kind=pb.DISCOUNT_KIND_PERCENTAGE, value="10", description="Deal")
    accepted.subscription.minimum_commitment.CopyFrom(money_pb2.Money(amount="300.00", currency="USD"))
    ramp = accepted.subscription.phases.add(
        start_at=at("2025-02-01T00:00:00"), end_at=at("2025-05-01T00:00:00")
    )
    ramp.discounts.add(kind=pb.DISCOUNT_KIND_PERCENTAGE, value="50", description="Launch")
    ramp.price_overrides.extend(accepted.subscription.price_overrides)
    for attempt in ("quote-accepted:q-7:1", "quote-accepted:q-7:1:again"):
        asyncio.run(publish_quote(catalog.nats_url, accepted, attempt))
    events = asyncio.run(read_changes(catalog.nats_url, expect=1, quiet_s=2.0))
    assert [e.subscription.quote_id for e in events] == ["q-7"]

    customer = stub.GetCustomer(pb.GetCustomerRequest(external_id="initech")).customer
    assert (customer.name, customer.currency, customer.tax_rate_percent) == ("Initech", "USD", "8.5")
    (subscription,) = stub.ListSubscriptions(
        pb.ListSubscriptionsRequest(customer_id=customer.id)
    ).subscriptions
    assert subscription.id == events[0].subscription.id
    in_ramp = terms_at(stub, subscription.id, "2025-04-01T00:00:00")
    after = terms_at(stub, subscription.id, "2025-05-01T00:00:00")
    # In the ramp: its own discount and the plan's minimum of 100; after it, the quote's discount and minimum.
    assert ([d.description for d in in_ramp.discounts], in_ramp.minimum_commitment.amount) == (
        ["Launch"],
        "100",
    )
    assert [d.description for d in after.discounts] == ["Deal"]
    assert (after.minimum_commitment.amount, unit_price_of(after), unit_price_of(in_ramp)) == (
        "300.00",
        "0.07",
        "0.07",
    )
    (grant,) = stub.ListCreditGrants(pb.ListCreditGrantsRequest(customer_id=customer.id)).credit_grants
    assert (grant.amount.amount, grant.cost_basis, grant.effective_at, grant.expires_at) == (
        "1500.00",
        "1",
        at("2025-02-01T00:00:00"),
        at("2026-02-01T00:00:00"),
    )
    assert grant.description == "Prepaid credit, quote Q-000042"


def test_the_demo_catalog_has_a_plan_with_every_model(catalog, stub, capsys):
    from tally.cli.demo_catalog import create_demo_catalog

    async def run():
        async with grpc.aio.insecure_channel(catalog.target) as channel:
            return await create_demo_catalog(channel, catalog.admin_key)

    made = asyncio.run(run())
    models = [c.price.WhichOneof("model") for c in made.plan_version.charges]
    assert models == [
        "unit",
        "graduated",
        "volume",
        "package",
        "percentage",
        "matrix",
        "tiered_package",
        "flat",
    ]
    assert [c.currency for c in made.customers] == ["USD", "JPY"]
    assert "plan 'Everything' v1" in capsys.readouterr().out
    reply = stub.Rate(pb.RateRequest(price=made.plan_version.charges[1].price, quantity="12"))
    assert Decimal(reply.amount.amount) == Decimal("102.00")
