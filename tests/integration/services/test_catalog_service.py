import asyncio

import grpc
import pytest
import sqlalchemy

from tally.api.catalog.v1 import catalog_service_pb2 as pb
from tally.api.catalog.v1 import catalog_service_pb2_grpc as pb_grpc
from tally.api.catalog.v1 import events_pb2
from tally.api.common.v1 import pagination_pb2
from tally.mesh import jetstream, streams
from tally.mesh.errors import field_violations
from tally.persistence.engine import create_engine
from tally.testing.services import ServiceProcess


@pytest.fixture
def catalog(tmp_path, nats_server, database_url):
    service = ServiceProcess("catalog", "tally.catalog", database_url, nats_server.url, tmp_path / "catalog")
    service.start()
    yield service
    service.kill()


def customer(external_id, **overrides):
    fields = dict(
        external_id=external_id,
        name=f"{external_id.title()} GmbH",
        email="billing@example.com",
        currency="EUR",
        billing_address=pb.Address(line1="Hauptstr. 1", city="Berlin", postal_code="10115", country="DE"),
        tax_id="DE123456789",
        tax_rate_percent="19",
        erp_ids={"NETSUITE": "4711"},
    )
    fields.update(overrides)
    return pb.Customer(**fields)


def outbox_rows(database_url):
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sqlalchemy.text("SELECT msg_id, subject FROM outbox")).all()
    finally:
        engine.dispose()


async def read_subject(nats_url, subject, *, expect_at_least=1, quiet_s=1.0):
    """Every message on ``subject`` in the CATALOG stream, waiting a little after the last one."""
    nc = await jetstream.connect(nats_url, name="test-reader")
    try:
        js = nc.jetstream()
        sub = await js.pull_subscribe(subject, durable=None, stream=streams.CATALOG.name)
        received = []
        deadline = asyncio.get_running_loop().time() + 10
        while asyncio.get_running_loop().time() < deadline:
            try:
                msgs = await sub.fetch(10, timeout=quiet_s)
            except Exception:
                if len(received) >= expect_at_least:
                    break
                continue
            for msg in msgs:
                await msg.ack()
                received.append(msg)
        return received
    finally:
        await nc.close()


def test_created_customer_is_found_by_id_and_external_id_and_announced_once(catalog):
    with grpc.insecure_channel(catalog.target) as channel:
        stub = pb_grpc.CatalogServiceStub(channel)
        created = stub.CreateCustomer(
            pb.CreateCustomerRequest(customer=customer("acme")), metadata=catalog.metadata()
        ).customer
        assert created.id
        assert (created.external_id, created.name, created.currency) == ("acme", "Acme GmbH", "EUR")
        assert (created.tax_rate_percent, created.tax_exempt) == ("19", False)
        assert created.billing_address.country == "DE"
        assert dict(created.erp_ids) == {"NETSUITE": "4711"}
        assert created.created_at == created.updated_at and created.created_at.seconds > 0

        by_id = stub.GetCustomer(pb.GetCustomerRequest(customer_id=created.id), metadata=catalog.metadata())
        by_external = stub.GetCustomer(pb.GetCustomerRequest(external_id="acme"), metadata=catalog.metadata())
        assert by_id.customer == created
        assert by_external.customer == created

    messages = asyncio.run(read_subject(catalog.nats_url, streams.CUSTOMER_CHANGED))
    assert len(messages) == 1
    assert messages[0].headers[jetstream.MSG_ID_HEADER] == f"customer-changed:{created.id}:1"
    event = events_pb2.CustomerChanged.FromString(messages[0].data)
    assert event.kind == events_pb2.CUSTOMER_CHANGE_KIND_CREATED
    assert event.customer == created
    assert event.changed_at == created.updated_at


def test_customers_are_listed_in_pages_by_external_id(catalog):
    with grpc.insecure_channel(catalog.target) as channel:
        stub = pb_grpc.CatalogServiceStub(channel)
        for external_id in ("cyberdyne", "acme", "bluth"):
            stub.CreateCustomer(
                pb.CreateCustomerRequest(customer=customer(external_id)), metadata=catalog.metadata()
            )
        first = stub.ListCustomers(
            pb.ListCustomersRequest(page=pagination_pb2.PageRequest(page_size=2)), metadata=catalog.metadata()
        )
        assert [c.external_id for c in first.customers] == ["acme", "bluth"]
        assert first.page.next_page_token
        second = stub.ListCustomers(
            pb.ListCustomersRequest(
                page=pagination_pb2.PageRequest(page_size=2, page_token=first.page.next_page_token)
            ),
            metadata=catalog.metadata(),
        )
        assert [c.external_id for c in second.customers] == ["cyberdyne"]
        assert second.page.next_page_token == ""


def test_refused_customers_leave_no_row_and_no_event(catalog):
    with grpc.insecure_channel(catalog.target) as channel:
        stub = pb_grpc.CatalogServiceStub(channel)
        with pytest.raises(grpc.RpcError) as bad_currency:
            stub.CreateCustomer(
                pb.CreateCustomerRequest(customer=customer("acme", currency="EURO")),
                metadata=catalog.metadata(),
            )
        assert bad_currency.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert [v.field for v in field_violations(bad_currency.value)] == ["customer.currency"]

        with pytest.raises(grpc.RpcError) as bad_rate:
            stub.CreateCustomer(
                pb.CreateCustomerRequest(customer=customer("", tax_rate_percent="100.5")),
                metadata=catalog.metadata(),
            )
        assert bad_rate.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert [v.field for v in field_violations(bad_rate.value)] == [
            "customer.external_id",
            "customer.tax_rate_percent",
        ]

        listed = stub.ListCustomers(pb.ListCustomersRequest(), metadata=catalog.metadata())
        assert list(listed.customers) == []
    assert outbox_rows(catalog.database_url) == []


def test_a_taken_external_id_is_refused_and_the_first_customer_kept(catalog):
    with grpc.insecure_channel(catalog.target) as channel:
        stub = pb_grpc.CatalogServiceStub(channel)
        first = stub.CreateCustomer(
            pb.CreateCustomerRequest(customer=customer("acme")), metadata=catalog.metadata()
        )
        with pytest.raises(grpc.RpcError) as duplicate:
            stub.CreateCustomer(
                pb.CreateCustomerRequest(customer=customer("acme", name="Impostor Ltd")),
                metadata=catalog.metadata(),
            )
        assert duplicate.value.code() == grpc.StatusCode.ALREADY_EXISTS
        assert [v.field for v in field_violations(duplicate.value)] == ["customer.external_id"]
        listed = stub.ListCustomers(pb.ListCustomersRequest(), metadata=catalog.metadata())
        assert [(c.id, c.name) for c in listed.customers] == [(first.customer.id, "Acme GmbH")]
    assert [row.msg_id for row in outbox_rows(catalog.database_url)] == [
        f"customer-changed:{first.customer.id}:1"
    ]


def test_unknown_customers_are_not_found_naming_the_field(catalog):
    with grpc.insecure_channel(catalog.target) as channel:
        stub = pb_grpc.CatalogServiceStub(channel)
        for request, field in (
            (pb.GetCustomerRequest(customer_id="nope"), "customer_id"),
            (pb.GetCustomerRequest(external_id="nope"), "external_id"),
        ):
            with pytest.raises(grpc.RpcError) as missing:
                stub.GetCustomer(request, metadata=catalog.metadata())
            assert missing.value.code() == grpc.StatusCode.NOT_FOUND
            assert [v.field for v in field_violations(missing.value)] == [field]


def update(stub, catalog, wanted, *paths):
    request = pb.UpdateCustomerRequest(customer=wanted)
    request.update_mask.paths.extend(paths)
    return stub.UpdateCustomer(request, metadata=catalog.metadata()).customer


def test_an_update_changes_the_masked_fields_and_announces_the_new_version(catalog):
    with grpc.insecure_channel(catalog.target) as channel:
        stub = pb_grpc.CatalogServiceStub(channel)
        created = stub.CreateCustomer(
            pb.CreateCustomerRequest(customer=customer("acme")), metadata=catalog.metadata()
        ).customer
        updated = update(
            stub,
            catalog,
            pb.Customer(id=created.id, name="Acme AG", tax_rate_percent="7", email="not-in-the-mask"),
            "name",
            "tax_rate_percent",
        )
        assert (updated.name, updated.tax_rate_percent) == ("Acme AG", "7")
        assert (updated.email, updated.external_id, updated.currency) == (
            "billing@example.com",
            "acme",
            "EUR",
        )
        assert updated.created_at == created.created_at
        assert updated.updated_at.ToDatetime() > created.updated_at.ToDatetime()

        found = stub.GetCustomer(pb.GetCustomerRequest(customer_id=created.id), metadata=catalog.metadata())
        assert found.customer == updated

    messages = asyncio.run(read_subject(catalog.nats_url, streams.CUSTOMER_CHANGED, expect_at_least=2))
    assert [m.headers[jetstream.MSG_ID_HEADER] for m in messages] == [
        f"customer-changed:{created.id}:1",
        f"customer-changed:{created.id}:2",
    ]
    event = events_pb2.CustomerChanged.FromString(messages[1].data)
    assert event.kind == events_pb2.CUSTOMER_CHANGE_KIND_UPDATED
    assert event.customer == updated
    assert event.changed_at == updated.updated_at


def test_refused_updates_leave_the_customer_and_the_outbox_unchanged(catalog):
    with grpc.insecure_channel(catalog.target) as channel:
        stub = pb_grpc.CatalogServiceStub(channel)
        created = stub.CreateCustomer(
            pb.CreateCustomerRequest(customer=customer("acme")), metadata=catalog.metadata()
        ).customer
        refusals = [
            (
                pb.Customer(id=created.id, name="Acme AG", tax_rate_percent="120"),
                ("name", "tax_rate_percent"),
                grpc.StatusCode.INVALID_ARGUMENT,
                "customer.tax_rate_percent",
            ),
            (
                pb.Customer(id=created.id, external_id="acme-2"),
                ("external_id",),
                grpc.StatusCode.INVALID_ARGUMENT,
                "update_mask",
            ),
            (
                pb.Customer(id="other", name="Acme AG"),
                ("id",),
                grpc.StatusCode.INVALID_ARGUMENT,
                "update_mask",
            ),
            (
                pb.Customer(id=created.id, name="x"),
                ("nickname",),
                grpc.StatusCode.INVALID_ARGUMENT,
                "update_mask",
            ),
            (pb.Customer(id="nope", name="Nobody"), ("name",), grpc.StatusCode.NOT_FOUND, "customer.id"),
            (pb.Customer(name="Nobody"), ("name",), grpc.StatusCode.INVALID_ARGUMENT, "customer.id"),
        ]
        for wanted, paths, code, field in refusals:
            with pytest.raises(grpc.RpcError) as refused:
                update(stub, catalog, wanted, *paths)
            assert refused.value.code() == code, (paths, refused.value.details())
            assert [v.field for v in field_violations(refused.value)] == [field]

        found = stub.GetCustomer(pb.GetCustomerRequest(customer_id=created.id), metadata=catalog.metadata())
        assert found.customer == created
    assert [row.msg_id for row in outbox_rows(catalog.database_url)] == [f"customer-changed:{created.id}:1"]


def test_the_currency_changes_only_while_the_customer_has_no_subscription(catalog):
    with grpc.insecure_channel(catalog.target) as channel:
        stub = pb_grpc.CatalogServiceStub(channel)
        created = stub.CreateCustomer(
            pb.CreateCustomerRequest(customer=customer("acme")), metadata=catalog.metadata()
        ).customer
        switched = update(stub, catalog, pb.Customer(id=created.id, currency="USD"), "currency")
        assert switched.currency == "USD"

        plan = stub.CreatePlan(pb.CreatePlanRequest(plan=pb.Plan(name="Growth")), metadata=catalog.metadata())
        version = stub.PublishPlanVersion(
            pb.PublishPlanVersionRequest(
                plan_version=pb.PlanVersion(
                    plan_id=plan.plan.id,
                    currency="USD",
                    charges=[
                        pb.Charge(
                            id="platform",
                            name="Platform fee",
                            price=pb.Price(currency="USD", flat=pb.FlatPrice(amount="49.00")),
                        )
                    ],
                )
            ),
            metadata=catalog.metadata(),
        ).plan_version
        subscription = pb.Subscription(
            customer_id=created.id, plan_version_id=version.id, billing_cycle=pb.BILLING_CYCLE_MONTHLY
        )
        subscription.start_at.GetCurrentTime()
        stub.CreateSubscription(
            pb.CreateSubscriptionRequest(subscription=subscription), metadata=catalog.metadata()
        )

        with pytest.raises(grpc.RpcError) as refused:
            update(stub, catalog, pb.Customer(id=created.id, currency="EUR"), "currency")
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        renamed = update(stub, catalog, pb.Customer(id=created.id, name="Acme AG", currency="EUR"), "name")
        assert (renamed.name, renamed.currency) == ("Acme AG", "USD")
    customer_events = sorted(
        row.msg_id for row in outbox_rows(catalog.database_url) if "customer" in row.msg_id
    )
    assert customer_events == [f"customer-changed:{created.id}:{n}" for n in (1, 2, 3)]
