"""Billing runs across real processes: catalog (terms), metering (usage from JetStream) and invoicing.

Usage reaches metering as ingestion would send it (a UsageBatchAccepted on the USAGE stream); invoicing reads
terms and usage over the mesh with its own service key, which catalog and metering accept. These tests are the
wiring; what a run decides is also unit-tested against fakes of its ports (tests/unit/invoicing), where late
usage that corrects several subscriptions of one customer, closing in different runs, is covered.
"""

import asyncio
import json
import time
from datetime import UTC, datetime

import grpc
import pytest

from tally.api.catalog.v1 import catalog_service_pb2 as cat
from tally.api.catalog.v1 import catalog_service_pb2_grpc as cat_grpc
from tally.api.common.v1 import money_pb2
from tally.api.ingestion.v1 import events_pb2
from tally.api.invoicing.v1 import events_pb2 as invoicing_events
from tally.api.invoicing.v1 import invoicing_service_pb2 as pb
from tally.api.invoicing.v1 import invoicing_service_pb2_grpc as pb_grpc
from tally.api.metering.v1 import metering_service_pb2 as met
from tally.api.metering.v1 import metering_service_pb2_grpc as met_grpc
from tally.mesh import jetstream, streams
from tally.mesh.auth import generate_key
from tally.mesh.roles import service_scopes
from tally.testing.databases import sqlite_url
from tally.testing.services import ServiceProcess

MARCH = datetime(2026, 3, 1, tzinfo=UTC)
APRIL = datetime(2026, 4, 1, tzinfo=UTC)


def stamp(moment):
    from google.protobuf.timestamp_pb2 import Timestamp

    value = Timestamp()
    value.FromDatetime(moment)
    return value


def ms(moment):
    return int(moment.timestamp() * 1000)


@pytest.fixture
def stack(tmp_path, nats_server, database_url):
    token, record = generate_key("service:invoicing", service_scopes("invoicing"))
    catalog = ServiceProcess(
        "catalog", "tally.catalog", sqlite_url(tmp_path / "c"), nats_server.url, tmp_path / "catalog"
    )
    metering = ServiceProcess(
        "metering",
        "tally.metering",
        sqlite_url(tmp_path / "m"),
        nats_server.url,
        tmp_path / "metering",
    )
    for peer, folder in ((catalog, "c"), (metering, "m")):
        (tmp_path / folder).mkdir()
        peer.keyring.add(record)
        peer.start()
    invoicing = ServiceProcess(
        "invoicing",
        "tally.invoicing",
        database_url,
        nats_server.url,
        tmp_path / "invoicing",
        env={
            "TALLY_SERVICE_TOKEN": token,
            "TALLY_CATALOG_TARGET": catalog.target,
            "TALLY_METERING_TARGET": metering.target,
            "TALLY_BILLING_GRACE_MINUTES": "60",
        },
    )
    invoicing.keyring.add(record)
    invoicing.start()
    yield catalog, metering, invoicing
    for service in (invoicing, metering, catalog):
        service.kill()


def make_catalog(catalog, meter_id, *, currency="USD", tax="20"):
    md = catalog.metadata()
    with grpc.insecure_channel(catalog.target) as channel:
        stub = cat_grpc.CatalogServiceStub(channel)
        customer = stub.CreateCustomer(
            cat.CreateCustomerRequest(
                customer=cat.Customer(
                    external_id="acme",
                    name="Acme Inc.",
                    currency=currency,
                    tax_rate_percent=tax,
                    billing_address=cat.Address(line1="1 Main St", city="Springfield", country="US"),
                )
            ),
            metadata=md,
        ).customer
        product = stub.CreateProduct(
            cat.CreateProductRequest(product=cat.Product(name="API")), metadata=md
        ).product
        tiers = [
            cat.Tier(up_to="5", unit_price="10.00"),
            cat.Tier(up_to="10", unit_price="8.00"),
            cat.Tier(unit_price="6.00"),
        ]
        version = stub.PublishPlanVersion(
            cat.PublishPlanVersionRequest(
                plan_version=cat.PlanVersion(
                    plan_id=stub.CreatePlan(
                        cat.CreatePlanRequest(plan=cat.Plan(name="Hybrid")), metadata=md
                    ).plan.id,
                    currency=currency,
                    charges=[
                        cat.Charge(
                            id="base",
                            name="Platform fee",
                            price=cat.Price(
                                currency=currency,
                                product_id=product.id,
                                flat=cat.FlatPrice(
                                    amount="49.00", timing=cat.BILLING_TIMING_IN_ARREARS, prorate=True
                                ),
                            ),
                        ),
                        cat.Charge(
                            id="calls",
                            name="API calls",
                            price=cat.Price(
                                currency=currency,
                                product_id=product.id,
                                meter_id=meter_id,
                                graduated=cat.GraduatedPrice(tiers=tiers),
                            ),
                        ),
                    ],
                )
            ),
            metadata=md,
        ).plan_version
    return stub, customer, subscribe(catalog, customer.id, version.id)


def subscribe(catalog, customer_id, plan_version_id, start=MARCH, anchor=cat.BILLING_ANCHOR_CALENDAR):
    """A monthly subscription of the customer to the plan version."""
    with grpc.insecure_channel(catalog.target) as channel:
        return (
            cat_grpc.CatalogServiceStub(channel)
            .CreateSubscription(
                cat.CreateSubscriptionRequest(
                    subscription=cat.Subscription(
                        customer_id=customer_id,
                        plan_version_id=plan_version_id,
                        start_at=stamp(start),
                        billing_cycle=cat.BILLING_CYCLE_MONTHLY,
                        billing_anchor=anchor,
                    )
                ),
                metadata=catalog.metadata(),
            )
            .subscription
        )


SEATS = cat.Charge(
    id="seats",
    name="Seats",
    price=cat.Price(currency="USD", flat=cat.FlatPrice(amount="30.00", timing=cat.BILLING_TIMING_IN_ADVANCE)),
)
"""30.00 a month, billed in advance."""


def publish_version(catalog, beside_version_id, charges):
    """A new USD version of the plan that ``beside_version_id`` belongs to, with ``charges``."""
    md = catalog.metadata()
    with grpc.insecure_channel(catalog.target) as channel:
        stub = cat_grpc.CatalogServiceStub(channel)
        plan_id = stub.GetPlanVersion(
            cat.GetPlanVersionRequest(plan_version_id=beside_version_id), metadata=md
        ).plan_version.plan_id
        return stub.PublishPlanVersion(
            cat.PublishPlanVersionRequest(
                plan_version=cat.PlanVersion(plan_id=plan_id, currency="USD", charges=charges)
            ),
            metadata=md,
        ).plan_version


def grant_credit(catalog, customer_id, amount, currency="USD", expires=None):
    with grpc.insecure_channel(catalog.target) as channel:
        grant = cat.CreditGrant(
            customer_id=customer_id,
            amount=money_pb2.Money(amount=amount, currency=currency),
            cost_basis="1.00",
            effective_at=stamp(MARCH),
        )
        if expires is not None:
            grant.expires_at.CopyFrom(stamp(expires))
        return (
            cat_grpc.CatalogServiceStub(channel)
            .CreateCreditGrant(cat.CreateCreditGrantRequest(credit_grant=grant), metadata=catalog.metadata())
            .credit_grant
        )


def make_meter(metering):
    with grpc.insecure_channel(metering.target) as channel:
        return (
            met_grpc.MeteringServiceStub(channel)
            .CreateMeter(
                met.CreateMeterRequest(
                    meter=met.Meter(
                        key="api-calls",
                        name="API calls",
                        event_type="call",
                        aggregation=met.AGGREGATION_COUNT,
                    )
                ),
                metadata=metering.metadata(),
            )
            .meter.id
        )


async def _publish(nats_url, batch_id, events):
    batch = events_pb2.UsageBatchAccepted(
        batch_id=batch_id, producer_id="p1", received_at_ms=ms(MARCH), events=events
    )
    nc = await jetstream.connect(nats_url, name="test-ingestion")
    try:
        subject = streams.usage_batch_subject(streams.usage_partition(events[0].customer))
        await jetstream.publish(nc.jetstream(), subject, batch.SerializeToString(), batch_id)
    finally:
        await nc.close()


def send_calls(metering, batch_id, moments):
    events = [
        events_pb2.UsageEvent(
            event_id=f"{batch_id}-{i}", customer="acme", event_type="call", timestamp_ms=ms(moment)
        )
        for i, moment in enumerate(moments)
    ]
    asyncio.run(_publish(metering.nats_url, batch_id, events))
    return [event.event_id for event in events]


def wait_for_usage(metering, meter_id, start, end, expected, timeout_s=20.0):
    deadline = time.monotonic() + timeout_s
    with grpc.insecure_channel(metering.target) as channel:
        stub = met_grpc.MeteringServiceStub(channel)
        while True:
            from tally.api.common.v1 import period_pb2

            reply = stub.GetUsage(
                met.GetUsageRequest(
                    customer="acme",
                    meter_id=meter_id,
                    period=period_pb2.Period(start=stamp(start), end=stamp(end)),
                ),
                metadata=metering.metadata(),
            )
            total = sum(int(b.quantity) for b in reply.buckets)
            if total == expected or time.monotonic() > deadline:
                assert total == expected
                return


def run_billing(invoicing, as_of):
    with grpc.insecure_channel(invoicing.target) as channel:
        return pb_grpc.InvoicingServiceStub(channel).RunBilling(
            pb.RunBillingRequest(as_of=stamp(as_of)), metadata=invoicing.metadata(), timeout=60
        )


def invoices_of(invoicing, subscription_id):
    with grpc.insecure_channel(invoicing.target) as channel:
        stub = pb_grpc.InvoicingServiceStub(channel)
        listed = stub.ListInvoices(pb.ListInvoicesRequest(), metadata=invoicing.metadata()).invoices
        return [
            stub.GetInvoice(pb.GetInvoiceRequest(invoice_id=i.id), metadata=invoicing.metadata()).invoice
            for i in listed
            if i.subscription_id == subscription_id
        ]


def lines(invoice):
    return [
        (pb.InvoiceLineKind.Name(line.kind), line.description, line.amount.amount, line.tax.amount)
        for line in invoice.lines
    ]


def test_a_hybrid_month_is_drafted_in_the_grace_period_then_finalized_once(stack):
    catalog, metering, invoicing = stack
    meter_id = make_meter(metering)
    _, customer, subscription = make_catalog(catalog, meter_id)
    send_calls(metering, "b1", [datetime(2026, 3, day, 12, tzinfo=UTC) for day in range(1, 13)])
    wait_for_usage(metering, meter_id, MARCH, APRIL, 12)

    # Within the hour of grace: a draft, re-rated by the next run, not finalized.
    first = run_billing(invoicing, datetime(2026, 4, 1, 0, 30, tzinfo=UTC))
    assert (first.subscriptions_evaluated, first.invoices_drafted, first.invoices_finalized) == (1, 1, 0)
    assert list(first.failures) == []
    [draft] = invoices_of(invoicing, subscription.id)
    assert draft.status == pb.INVOICE_STATUS_DRAFT
    assert draft.number == ""

    send_calls(metering, "b2", [datetime(2026, 3, 31, 23, tzinfo=UTC)])  # late, but within the grace
    wait_for_usage(metering, meter_id, MARCH, APRIL, 13)
    done = run_billing(invoicing, datetime(2026, 4, 1, 2, tzinfo=UTC))
    assert (done.invoices_drafted, done.invoices_finalized) == (1, 1)
    [invoice] = invoices_of(invoicing, subscription.id)
    assert invoice.id == draft.id
    assert invoice.status == pb.INVOICE_STATUS_FINALIZED
    assert invoice.number == f"INV-{datetime.now(UTC).year}-000001"
    # 13 calls: 5 × 10.00 + 5 × 8.00 + 3 × 6.00 = 108.00; fee 49.00; tax 20 % per line.
    assert lines(invoice) == [
        ("INVOICE_LINE_KIND_RECURRING", "Platform fee", "49.00", "9.80"),
        ("INVOICE_LINE_KIND_USAGE", "API calls", "108.00", "21.60"),
    ]
    usage = invoice.lines[1]
    assert usage.quantity == "13"
    assert usage.meter_id == meter_id
    assert [(b.tier_index, b.units, b.unit_price) for b in usage.breakdown] == [
        (1, "5", "10.00"),
        (2, "5", "8.00"),
        (3, "3", "6.00"),
    ]
    assert (invoice.subtotal.amount, invoice.tax.amount, invoice.total.amount, invoice.amount_due.amount) == (
        "157.00",
        "31.40",
        "188.40",
        "188.40",
    )
    assert invoice.customer_id == customer.id

    again = run_billing(invoicing, datetime(2026, 4, 1, 3, tzinfo=UTC))
    assert (again.invoices_drafted, again.invoices_finalized) == (0, 0)
    assert len(invoices_of(invoicing, subscription.id)) == 1


def test_credits_from_two_grants_pay_part_of_the_invoice_and_the_ledger_explains_it(stack):
    catalog, metering, invoicing = stack
    meter_id = make_meter(metering)
    _, customer, subscription = make_catalog(catalog, meter_id)
    grant_credit(catalog, customer.id, "50.00", expires=datetime(2026, 6, 1, tzinfo=UTC))
    grant_credit(catalog, customer.id, "100.00")
    send_calls(metering, "b1", [datetime(2026, 3, 2, tzinfo=UTC)] * 1)
    wait_for_usage(metering, meter_id, MARCH, APRIL, 1)
    run_billing(invoicing, datetime(2026, 4, 2, tzinfo=UTC))
    [invoice] = invoices_of(invoicing, subscription.id)
    # fee 49.00 + 1 call 10.00 = 59.00, tax 9.80 + 2.00 = 11.80, total 70.80: 50.00 from the expiring grant
    # first, 20.80 from the other.
    assert invoice.total.amount == "70.80"
    assert invoice.credits_applied.amount == "70.80"
    assert invoice.amount_due.amount == "0.00"
    credit_lines = [line for line in invoice.lines if line.kind == pb.INVOICE_LINE_KIND_CREDIT]
    assert [line.amount.amount for line in credit_lines] == ["-50.00", "-20.80"]
    with grpc.insecure_channel(invoicing.target) as channel:
        stub = pb_grpc.InvoicingServiceStub(channel)
        balance = stub.GetCreditBalance(
            pb.GetCreditBalanceRequest(customer_id=customer.id), metadata=invoicing.metadata()
        )
        entries = stub.ListCreditLedger(
            pb.ListCreditLedgerRequest(customer_id=customer.id), metadata=invoicing.metadata()
        )
    assert balance.balance.amount == "79.20"
    assert [g.remaining.amount for g in balance.grants] == ["79.20"]
    ledger = [
        (pb.CreditLedgerEntryKind.Name(e.kind), e.amount.amount, e.grant_balance_after.amount)
        for e in entries.entries
    ]
    # Both grants take effect at the same instant, so their GRANTED entries may come in either order.
    assert sorted(ledger[:2]) == [
        ("CREDIT_LEDGER_ENTRY_KIND_GRANTED", "100.00", "100.00"),
        ("CREDIT_LEDGER_ENTRY_KIND_GRANTED", "50.00", "50.00"),
    ]
    assert ledger[2:] == [
        ("CREDIT_LEDGER_ENTRY_KIND_BURNED", "-50.00", "0.00"),
        ("CREDIT_LEDGER_ENTRY_KIND_BURNED", "-20.80", "79.20"),
    ]


def test_a_threshold_invoice_is_issued_early_and_netted_at_period_end(stack):
    catalog, metering, invoicing = stack
    meter_id = make_meter(metering)
    _, _, subscription = make_catalog(catalog, meter_id)
    with grpc.insecure_channel(invoicing.target) as channel:
        pb_grpc.InvoicingServiceStub(channel).SetBillingControls(
            pb.SetBillingControlsRequest(
                controls=pb.BillingControls(
                    subscription_id=subscription.id,
                    invoice_threshold=money_pb2.Money(amount="60.00", currency="USD"),
                    spend_alerts=[money_pb2.Money(amount="50.00", currency="USD")],
                    usage_alerts=[pb.UsageAlert(charge_id="calls", threshold="5")],
                )
            ),
            metadata=invoicing.metadata(),
        )
    send_calls(metering, "b1", [datetime(2026, 3, day, tzinfo=UTC) for day in range(1, 8)])  # 7 calls = 66.00
    wait_for_usage(metering, meter_id, MARCH, APRIL, 7)
    early = run_billing(invoicing, datetime(2026, 3, 15, tzinfo=UTC))
    assert (early.invoices_drafted, early.invoices_finalized) == (1, 1)
    [threshold] = invoices_of(invoicing, subscription.id)
    assert lines(threshold) == [("INVOICE_LINE_KIND_USAGE", "API calls", "66.00", "13.20")]
    assert threshold.total.amount == "79.20"
    assert (
        run_billing(invoicing, datetime(2026, 3, 16, tzinfo=UTC)).invoices_drafted == 0
    )  # nothing new accrued

    send_calls(metering, "b2", [datetime(2026, 3, 20, tzinfo=UTC)] * 1)
    wait_for_usage(metering, meter_id, MARCH, APRIL, 8)
    run_billing(invoicing, datetime(2026, 4, 2, tzinfo=UTC))
    regular = [i for i in invoices_of(invoicing, subscription.id) if i.id != threshold.id]
    [closing] = regular
    # 8 calls = 74.00 and the fee 49.00, less the 66.00 (and its 13.20 tax) already invoiced.
    assert lines(closing) == [
        ("INVOICE_LINE_KIND_RECURRING", "Platform fee", "49.00", "9.80"),
        ("INVOICE_LINE_KIND_USAGE", "API calls", "74.00", "14.80"),
        (
            "INVOICE_LINE_KIND_ADJUSTMENT",
            f"Billed on threshold invoice {threshold.number}",
            "-66.00",
            "-13.20",
        ),
    ]
    assert closing.lines[2].corrects_invoice_id == threshold.id
    assert (closing.subtotal.amount, closing.tax.amount, closing.total.amount) == ("57.00", "11.40", "68.40")

    # Each alert fired once, on the first run that saw it crossed: 66.00 ≥ 50.00 spent, 7 ≥ 5 calls.
    alerts = asyncio.run(_alerts(invoicing.nats_url))
    assert sorted(kind for kind, _ in alerts) == ["spend", "usage"]
    spend = next(event for kind, event in alerts if kind == "spend")
    usage = next(event for kind, event in alerts if kind == "usage")
    assert (spend.threshold.amount, spend.spend.amount, spend.subscription_id) == (
        "50.00",
        "66.00",
        subscription.id,
    )
    assert (usage.charge_id, usage.threshold, usage.quantity) == ("calls", "5", "7")


async def _alerts(nats_url):
    nc = await jetstream.connect(nats_url, name="test-alerts")
    try:
        sub = await nc.jetstream().pull_subscribe(streams.ALERT_TRIGGERED, stream=streams.INVOICING.name)
        found = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                batch = await sub.fetch(10, timeout=0.5)
            except TimeoutError:
                if found:
                    break
                continue
            for msg in batch:
                await msg.ack()
                kind = (msg.headers or {}).get("Tally-Alert-Kind")
                parse = (
                    invoicing_events.SpendAlertTriggered
                    if kind == "spend"
                    else invoicing_events.UsageAlertTriggered
                )
                found.append((kind, parse.FromString(msg.data)))
        return found
    finally:
        await nc.close()


def test_preview_shows_cost_to_date_without_storing_anything(stack):
    catalog, metering, invoicing = stack
    meter_id = make_meter(metering)
    _, _, subscription = make_catalog(catalog, meter_id)
    send_calls(metering, "b1", [datetime.now(UTC)])
    # The subscription started in March; the preview covers the period containing now.
    with grpc.insecure_channel(invoicing.target) as channel:
        stub = pb_grpc.InvoicingServiceStub(channel)
        deadline = time.monotonic() + 20
        while True:
            preview = stub.PreviewInvoice(
                pb.PreviewInvoiceRequest(subscription_id=subscription.id), metadata=invoicing.metadata()
            ).invoice
            usage = [line for line in preview.lines if line.kind == pb.INVOICE_LINE_KIND_USAGE]
            if (usage and usage[0].quantity == "1") or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert usage[0].amount.amount == "10.00"
        assert preview.status == pb.INVOICE_STATUS_DRAFT and preview.number == "" and preview.id == ""
        missing = None
        try:
            stub.PreviewInvoice(pb.PreviewInvoiceRequest(), metadata=invoicing.metadata())
        except grpc.RpcError as exc:
            missing = exc
    assert missing is not None and missing.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert invoices_of(invoicing, subscription.id) == []


def late_usage_rows(database_url):
    import sqlalchemy

    from tally.persistence.engine import create_engine

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sqlalchemy.text("SELECT event_ids, applied_invoice_id FROM late_usage")).all()
    finally:
        engine.dispose()


def send_late_call(metering, invoicing_database_url, moment, timeout_s=20.0):
    """One call at ``moment`` once metering knows acme's March is invoiced (it consumed InvoiceFinalized), so
    the call is late; returns its event ids once invoicing has recorded the UsageLate."""
    import sqlalchemy

    from tally.persistence.engine import create_engine

    engine = create_engine(metering.database_url)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            with engine.connect() as conn:
                closed = conn.execute(
                    sqlalchemy.text("SELECT closed_until_ms FROM closed_periods WHERE customer = 'acme'")
                ).scalar()
            if closed is not None and closed >= ms(APRIL):
                break
            assert time.monotonic() < deadline, "metering never learned that March was invoiced"
            time.sleep(0.1)
    finally:
        engine.dispose()
    sent = set(send_calls(metering, "late", [moment]))
    while not late_usage_rows(invoicing_database_url):
        assert time.monotonic() < deadline, "no UsageLate reached invoicing"
        time.sleep(0.1)
    recorded = {e for event_ids, _ in late_usage_rows(invoicing_database_url) for e in json.loads(event_ids)}
    assert recorded == sent
    return sent


def test_usage_arriving_after_finalization_lands_on_the_next_invoice_with_its_event_ids(stack, database_url):
    catalog, metering, invoicing = stack
    meter_id = make_meter(metering)
    _, _, subscription = make_catalog(catalog, meter_id)
    send_calls(metering, "b1", [datetime(2026, 3, day, tzinfo=UTC) for day in range(1, 14)])  # 13 calls
    wait_for_usage(metering, meter_id, MARCH, APRIL, 13)
    run_billing(invoicing, datetime(2026, 4, 2, tzinfo=UTC))
    [march] = invoices_of(invoicing, subscription.id)
    assert march.status == pb.INVOICE_STATUS_FINALIZED

    # Metering learns from InvoiceFinalized that March is closed; a March event now is late.
    sent = send_late_call(metering, database_url, datetime(2026, 3, 30, tzinfo=UTC))
    calls = 13 + len(sent)

    run_billing(invoicing, datetime(2026, 5, 2, tzinfo=UTC))
    april = next(i for i in invoices_of(invoicing, subscription.id) if i.id != march.id)
    # The finalized March invoice is untouched.
    assert [line.amount.amount for line in invoices_of_one(invoicing, march.id).lines] == ["49.00", "108.00"]
    [adjustment] = [line for line in april.lines if line.kind == pb.INVOICE_LINE_KIND_ADJUSTMENT]
    assert adjustment.corrects_invoice_id == march.id
    assert set(adjustment.event_ids) == sent
    extra = 6 * (calls - 13)  # every call past the tenth is 6.00
    assert adjustment.amount.amount == f"{extra}.00"
    assert adjustment.tax.amount == f"{extra * 2 // 10}.{(extra * 2) % 10}0"
    assert adjustment.description == f"Usage corrections for invoice {march.number} ({len(sent)} events)"
    assert {applied for _, applied in late_usage_rows(database_url)} == {april.id}


def invoices_of_one(invoicing, invoice_id):
    with grpc.insecure_channel(invoicing.target) as channel:
        return (
            pb_grpc.InvoicingServiceStub(channel)
            .GetInvoice(pb.GetInvoiceRequest(invoice_id=invoice_id), metadata=invoicing.metadata())
            .invoice
        )


def test_a_percentage_charge_is_billed_event_by_event_from_the_meter_values(stack):
    """docs/pricing.md: 2 %, fee 0.30, free first 2 events or first 100.00, captured payments 40, 70, 50, 0 → 2.10.
    Only the events the SUM meter counts are rated: a refund (filtered out) and an event lacking the amount
    are not transactions of this charge."""
    catalog, metering, invoicing = stack
    with grpc.insecure_channel(metering.target) as channel:
        meter_id = (
            met_grpc.MeteringServiceStub(channel)
            .CreateMeter(
                met.CreateMeterRequest(
                    meter=met.Meter(
                        key="payments",
                        name="Captured payment volume",
                        event_type="payment",
                        aggregation=met.AGGREGATION_SUM,
                        value_property="amount",
                        filters=[
                            met.PropertyFilter(
                                property="status", operator=met.FILTER_OPERATOR_EQUALS, values=["captured"]
                            )
                        ],
                    )
                ),
                metadata=metering.metadata(),
            )
            .meter.id
        )
    md = catalog.metadata()
    with grpc.insecure_channel(catalog.target) as channel:
        stub = cat_grpc.CatalogServiceStub(channel)
        customer = stub.CreateCustomer(
            cat.CreateCustomerRequest(
                customer=cat.Customer(
                    external_id="acme", name="Acme Inc.", currency="USD", tax_rate_percent="20"
                )
            ),
            metadata=md,
        ).customer
        product = stub.CreateProduct(
            cat.CreateProductRequest(product=cat.Product(name="Payments")), metadata=md
        ).product
        plan_id = stub.CreatePlan(cat.CreatePlanRequest(plan=cat.Plan(name="Payments")), metadata=md).plan.id
        version = stub.PublishPlanVersion(
            cat.PublishPlanVersionRequest(
                plan_version=cat.PlanVersion(
                    plan_id=plan_id,
                    currency="USD",
                    charges=[
                        cat.Charge(
                            id="processing",
                            name="Payment processing",
                            price=cat.Price(
                                currency="USD",
                                product_id=product.id,
                                meter_id=meter_id,
                                percentage=cat.PercentagePrice(
                                    rate_percent="2", fixed_fee="0.30", free_events=2, free_amount="100.00"
                                ),
                            ),
                        )
                    ],
                )
            ),
            metadata=md,
        ).plan_version
    subscription = subscribe(catalog, customer.id, version.id)

    def payment(event_id, day, **properties):
        return events_pb2.UsageEvent(
            event_id=event_id,
            customer="acme",
            event_type="payment",
            timestamp_ms=ms(datetime(2026, 3, day, 9, tzinfo=UTC)),
            properties=properties,
        )

    # Sent out of order, in two batches: the charge rates them in event order.
    asyncio.run(
        _publish(
            metering.nats_url,
            "p-b1",
            [
                payment("pay-3", 12, amount="50", status="captured"),
                payment("refund-1", 11, amount="500", status="refunded"),
                payment("pay-1", 2, amount="40", status="captured"),
            ],
        )
    )
    asyncio.run(
        _publish(
            metering.nats_url,
            "p-b2",
            [
                payment("pay-4", 20, amount="0", status="captured"),
                payment("pay-2", 5, amount="70", status="captured"),
                payment("no-amount", 6, status="captured"),
                events_pb2.UsageEvent(  # the first instant of April: next month's
                    event_id="april-1",
                    customer="acme",
                    event_type="payment",
                    timestamp_ms=ms(APRIL),
                    properties={"amount": "1000", "status": "captured"},
                ),
            ],
        )
    )
    with grpc.insecure_channel(metering.target) as channel:
        from tally.api.common.v1 import pagination_pb2, period_pb2

        values = met_grpc.MeteringServiceStub(channel)
        deadline = time.monotonic() + 20
        while True:
            reply = values.ListMeterValues(
                met.ListMeterValuesRequest(
                    customer="acme",
                    meter_id=meter_id,
                    period=period_pb2.Period(start=stamp(MARCH), end=stamp(APRIL)),
                ),
                metadata=metering.metadata(),
            )
            if len(reply.values) == 4 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert list(reply.values) == ["40", "70", "50", "0"]
        # Pages count the events examined: two per page here, four counted events over the month.
        paged, token = [], ""
        while True:
            page = values.ListMeterValues(
                met.ListMeterValuesRequest(
                    customer="acme",
                    meter_id=meter_id,
                    period=period_pb2.Period(start=stamp(MARCH), end=stamp(APRIL)),
                    page=pagination_pb2.PageRequest(page_size=2, page_token=token),
                ),
                metadata=metering.metadata(),
            )
            paged.extend(page.values)
            token = page.page.next_page_token
            if not token:
                break
        assert paged == ["40", "70", "50", "0"]

    reply = run_billing(invoicing, datetime(2026, 4, 1, 2, tzinfo=UTC))
    assert list(reply.failures) == []
    (invoice,) = invoices_of(invoicing, subscription.id)
    assert invoice.status == pb.INVOICE_STATUS_FINALIZED
    assert [(kind, amount, tax) for kind, _, amount, tax in lines(invoice)] == [
        ("INVOICE_LINE_KIND_USAGE", "2.10", "0.42")
    ]
    assert invoice.total.amount == "2.52"


def test_a_plan_change_at_the_period_end_bills_the_new_plans_in_advance_fee_on_the_closing_invoice(stack):
    catalog, metering, invoicing = stack
    meter_id = make_meter(metering)
    _, _, subscription = make_catalog(catalog, meter_id)
    seats = publish_version(catalog, subscription.plan_version_id, [SEATS])
    # From April: seats paid in advance, no more platform fee or metered calls.
    with grpc.insecure_channel(catalog.target) as channel:
        cat_grpc.CatalogServiceStub(channel).MigrateSubscription(
            cat.MigrateSubscriptionRequest(
                subscription_id=subscription.id, plan_version_id=seats.id, effective_at=stamp(APRIL)
            ),
            metadata=catalog.metadata(),
        )
    send_calls(metering, "b1", [datetime(2026, 3, 3, 12, tzinfo=UTC)])
    wait_for_usage(metering, meter_id, MARCH, APRIL, 1)

    done = run_billing(invoicing, datetime(2026, 4, 1, 2, tzinfo=UTC))
    assert list(done.failures) == []
    [march] = [i for i in invoices_of(invoicing, subscription.id) if i.status == pb.INVOICE_STATUS_FINALIZED]
    # March at March's plan; April's seats at April's plan, billed in advance on the invoice closing March.
    assert lines(march) == [
        ("INVOICE_LINE_KIND_RECURRING", "Platform fee", "49.00", "9.80"),
        ("INVOICE_LINE_KIND_USAGE", "API calls", "10.00", "2.00"),
        ("INVOICE_LINE_KIND_RECURRING", "Seats", "30.00", "6.00"),
    ]
    assert march.lines[2].service_period.start.ToDatetime(UTC) == APRIL
    assert march.total.amount == "106.80"


def test_an_opening_invoice_closes_no_usage_so_the_periods_usage_is_billed_once(stack, database_url):
    """The opening invoice bills the first period's in-advance fee at its start and reads no usage: it must
    neither make that period's usage late nor be 'corrected' with it later."""
    catalog, metering, invoicing = stack
    meter_id = make_meter(metering)
    _, customer, base = make_catalog(catalog, meter_id)
    calls = cat.Charge(
        id="calls",
        name="API calls",
        price=cat.Price(currency="USD", meter_id=meter_id, unit=cat.UnitPrice(unit_price="1.00")),
    )
    version = publish_version(catalog, base.plan_version_id, [SEATS, calls])
    with grpc.insecure_channel(catalog.target) as channel:
        cat_grpc.CatalogServiceStub(channel).CancelSubscription(
            cat.CancelSubscriptionRequest(subscription_id=base.id), metadata=catalog.metadata()
        )
    subscription = subscribe(catalog, customer.id, version.id)

    opened = run_billing(invoicing, datetime(2026, 3, 1, 0, 30, tzinfo=UTC))
    assert list(opened.failures) == []
    [opening] = invoices_of(invoicing, subscription.id)
    assert lines(opening) == [("INVOICE_LINE_KIND_RECURRING", "Seats", "30.00", "6.00")]
    time.sleep(1.0)  # metering consumes the opening invoice's InvoiceFinalized
    send_calls(metering, "march", [datetime(2026, 3, day, tzinfo=UTC) for day in range(2, 9)])  # 7 calls
    wait_for_usage(metering, meter_id, MARCH, APRIL, 7)

    run_billing(invoicing, datetime(2026, 4, 2, tzinfo=UTC))
    assert late_usage_rows(database_url) == []  # the opening invoice made none of March's usage late
    # One March call arrives after March was invoiced: late, and corrected once, against the invoice that
    # billed March's usage (the opening invoice billed none, so it has nothing to correct).
    [late] = send_late_call(metering, database_url, datetime(2026, 3, 20, tzinfo=UTC))
    run_billing(invoicing, datetime(2026, 5, 2, tzinfo=UTC))
    found = {
        i.period.start.ToDatetime(UTC).month: i
        for i in invoices_of(invoicing, subscription.id)
        if i.id != opening.id
    }
    assert lines(found[3]) == [
        ("INVOICE_LINE_KIND_USAGE", "API calls", "7.00", "1.40"),
        ("INVOICE_LINE_KIND_RECURRING", "Seats", "30.00", "6.00"),
    ]
    # April: the seats for May, no usage, and March's late call once; no second charge for March's calls.
    assert [(kind, amount, tax) for kind, _, amount, tax in lines(found[4])] == [
        ("INVOICE_LINE_KIND_USAGE", "0.00", "0.00"),
        ("INVOICE_LINE_KIND_RECURRING", "30.00", "6.00"),
        ("INVOICE_LINE_KIND_ADJUSTMENT", "1.00", "0.20"),
    ]
    assert found[4].lines[2].corrects_invoice_id == found[3].id
    assert list(found[4].lines[2].event_ids) == [late]
