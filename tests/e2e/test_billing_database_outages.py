"""A billing run through database outages (PostgreSQL): erp-sync's and metering's databases are away while the
run finalizes invoices (metering's closes first wait on a table lock), then invoicing's while metering reports
late usage on them. Afterwards every invoice has its sync row and its period close, the late usage is billed on
the next run, and no dead-letter stream holds anything.

Before, business consumers gave up after five deliveries (about 66 s) and dead-lettered every event. The outage
lasts TALLY_TEST_OUTAGE_SECONDS (default 90, past that budget).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from datetime import UTC, datetime

import grpc
import nats
import pytest
import sqlalchemy
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health_pb2
from sqlalchemy.pool import NullPool

from tally.api.catalog.v1 import catalog_service_pb2 as cat
from tally.api.catalog.v1 import catalog_service_pb2_grpc as cat_grpc
from tally.api.common.v1 import period_pb2
from tally.api.erp_sync.v1 import erp_sync_service_pb2 as erp
from tally.api.erp_sync.v1 import erp_sync_service_pb2_grpc as erp_grpc
from tally.api.ingestion.v1 import events_pb2
from tally.api.invoicing.v1 import invoicing_service_pb2 as pb
from tally.api.invoicing.v1 import invoicing_service_pb2_grpc as pb_grpc
from tally.api.metering.v1 import metering_service_pb2 as met
from tally.api.metering.v1 import metering_service_pb2_grpc as met_grpc
from tally.fake_erp.setup import erp_sync_environment, fake_netsuite
from tally.mesh import jetstream, streams
from tally.mesh.auth import ALL_SCOPES, generate_key
from tally.mesh.readiness import LIVENESS_SERVICE
from tally.persistence.engine import create_engine, normalize_url
from tally.testing.databases import fresh_postgres_database, set_connections, sqlite_url
from tally.testing.services import ServiceProcess

OUTAGE_S = float(os.environ.get("TALLY_TEST_OUTAGE_SECONDS", "90"))

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(2 * OUTAGE_S + 600)]
CUSTOMERS = [f"cust-{i:02d}" for i in range(20)]
MARCH = datetime(2026, 3, 1, tzinfo=UTC)
APRIL = datetime(2026, 4, 1, tzinfo=UTC)
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVING = health_pb2.HealthCheckResponse.SERVING


def stamp(moment: datetime) -> Timestamp:
    value = Timestamp()
    value.FromDatetime(moment)
    return value


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@pytest.fixture
def billing_stack(tmp_path, nats_server):
    netsuite = fake_netsuite().start()
    token, record = generate_key("service:invoicing", [ALL_SCOPES])
    services: list[ServiceProcess] = []
    with (
        fresh_postgres_database() as metering_db,
        fresh_postgres_database() as invoicing_db,
        fresh_postgres_database() as erp_db,
    ):
        try:
            catalog = ServiceProcess(
                "catalog", "tally.catalog", sqlite_url(tmp_path / "c"), nats_server.url, tmp_path / "catalog"
            )
            metering = ServiceProcess(
                "metering",
                "tally.metering",
                metering_db,
                nats_server.url,
                tmp_path / "metering",
                env={"TALLY_METERING_CLOSE_MARGIN_SECONDS": "0"},
            )
            (tmp_path / "c").mkdir()
            for peer in (catalog, metering):
                peer.keyring.add(record)
                services.append(peer)
                peer.start()
            invoicing = ServiceProcess(
                "invoicing",
                "tally.invoicing",
                invoicing_db,
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
            services.append(invoicing)
            invoicing.start()
            erp_sync = ServiceProcess(
                "erp_sync",
                "tally.erp_sync",
                erp_db,
                nats_server.url,
                tmp_path / "erp_sync",
                env=erp_sync_environment(tmp_path / "erp", netsuite=netsuite),
            )
            services.append(erp_sync)
            erp_sync.start()
            yield catalog, metering, invoicing, erp_sync
        finally:
            for service in reversed(services):
                service.kill()
            netsuite.stop()


def make_meter(metering: ServiceProcess) -> str:
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


def subscribe_everyone(catalog: ServiceProcess, meter_id: str) -> None:
    """Every customer on one plan: 49.00 a month, and calls at 10.00 / 8.00 / 6.00 past 5 and 10 calls."""
    md = catalog.metadata()
    with grpc.insecure_channel(catalog.target) as channel:
        stub = cat_grpc.CatalogServiceStub(channel)
        product = stub.CreateProduct(
            cat.CreateProductRequest(product=cat.Product(name="API")), metadata=md
        ).product
        plan = stub.CreatePlan(cat.CreatePlanRequest(plan=cat.Plan(name="Hybrid")), metadata=md).plan
        tiers = [
            cat.Tier(up_to="5", unit_price="10.00"),
            cat.Tier(up_to="10", unit_price="8.00"),
            cat.Tier(unit_price="6.00"),
        ]
        version = stub.PublishPlanVersion(
            cat.PublishPlanVersionRequest(
                plan_version=cat.PlanVersion(
                    plan_id=plan.id,
                    currency="USD",
                    charges=[
                        cat.Charge(
                            id="base",
                            name="Platform fee",
                            price=cat.Price(
                                currency="USD",
                                product_id=product.id,
                                flat=cat.FlatPrice(amount="49.00", timing=cat.BILLING_TIMING_IN_ARREARS),
                            ),
                        ),
                        cat.Charge(
                            id="calls",
                            name="API calls",
                            price=cat.Price(
                                currency="USD",
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
        for external_id in CUSTOMERS:
            customer = stub.CreateCustomer(
                cat.CreateCustomerRequest(
                    customer=cat.Customer(
                        external_id=external_id,
                        name=f"Customer {external_id}",
                        currency="USD",
                        tax_rate_percent="0",
                        billing_address=cat.Address(line1="1 Main St", city="Springfield", country="US"),
                    )
                ),
                metadata=md,
            ).customer
            stub.CreateSubscription(
                cat.CreateSubscriptionRequest(
                    subscription=cat.Subscription(
                        customer_id=customer.id,
                        plan_version_id=version.id,
                        start_at=stamp(MARCH),
                        billing_cycle=cat.BILLING_CYCLE_MONTHLY,
                        billing_anchor=cat.BILLING_ANCHOR_CALENDAR,
                    )
                ),
                metadata=md,
            )


async def _publish_calls(nats_url: str, batch: str, moments: list[datetime]) -> None:
    client = await jetstream.connect(nats_url, name="test-ingestion")
    try:
        js = client.jetstream()
        for customer in CUSTOMERS:
            events = [
                events_pb2.UsageEvent(
                    event_id=f"{batch}-{customer}-{i}",
                    customer=customer,
                    event_type="call",
                    timestamp_ms=ms(moment),
                )
                for i, moment in enumerate(moments)
            ]
            accepted = events_pb2.UsageBatchAccepted(
                batch_id=f"{batch}-{customer}", producer_id="p1", received_at_ms=ms(MARCH), events=events
            )
            subject = streams.usage_batch_subject(streams.usage_partition(customer))
            await jetstream.publish(js, subject, accepted.SerializeToString(), f"{batch}-{customer}")
    finally:
        await client.close()


def march_calls(metering: ServiceProcess, meter_id: str) -> int:
    with grpc.insecure_channel(metering.target) as channel:
        stub = met_grpc.MeteringServiceStub(channel)
        return sum(
            int(bucket.quantity)
            for customer in CUSTOMERS
            for bucket in stub.GetUsage(
                met.GetUsageRequest(
                    customer=customer,
                    meter_id=meter_id,
                    period=period_pb2.Period(start=stamp(MARCH), end=stamp(APRIL)),
                ),
                metadata=metering.metadata(),
                timeout=10,
            ).buckets
        )


def wait_until(condition, limit_s: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + limit_s
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"not within {limit_s}s: {what}"
        time.sleep(0.5)


def query(database_url: str, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sqlalchemy.text(sql)).all()]
    finally:
        engine.dispose()


class TableLock:
    """Holds an ACCESS EXCLUSIVE lock on one table from another session until released (or its session ends)."""

    def __init__(self, database_url: str, table: str) -> None:
        self._engine = sqlalchemy.create_engine(normalize_url(database_url), poolclass=NullPool)
        self._locked, self._release = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._hold, args=(table,))
        self._thread.start()
        assert self._locked.wait(10), f"could not lock {table}"

    def _hold(self, table: str) -> None:
        try:
            with self._engine.begin() as conn:
                conn.exec_driver_sql(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
                self._locked.set()
                self._release.wait(3600)
        except sqlalchemy.exc.DBAPIError:
            pass  # the session was terminated by the outage that followed: the lock went with it

    def release(self) -> None:
        self._release.set()
        self._thread.join()
        self._engine.dispose()


def run_billing(invoicing: ServiceProcess, as_of: datetime) -> pb.RunBillingResponse:
    with grpc.insecure_channel(invoicing.target) as channel:
        return pb_grpc.InvoicingServiceStub(channel).RunBilling(
            pb.RunBillingRequest(as_of=stamp(as_of)), metadata=invoicing.metadata(), timeout=120
        )


def invoices(invoicing: ServiceProcess) -> list[pb.Invoice]:
    with grpc.insecure_channel(invoicing.target) as channel:
        stub = pb_grpc.InvoicingServiceStub(channel)
        listed = stub.ListInvoices(
            pb.ListInvoicesRequest(page={"page_size": 500}), metadata=invoicing.metadata()
        )
        return [
            stub.GetInvoice(pb.GetInvoiceRequest(invoice_id=i.id), metadata=invoicing.metadata()).invoice
            for i in listed.invoices
        ]


def synced_invoices(erp_sync: ServiceProcess) -> set[str]:
    with grpc.insecure_channel(erp_sync.target) as channel:
        reply = erp_grpc.ErpSyncServiceStub(channel).ListSyncRecords(
            erp.ListSyncRecordsRequest(page={"page_size": 500}), metadata=erp_sync.metadata(), timeout=10
        )
    return {
        record.document_id for record in reply.records if record.document_kind == erp.DOCUMENT_KIND_INVOICE
    }


async def _dead_letters(url: str) -> dict[str, int]:
    client = await nats.connect(url)
    try:
        return {
            info.config.name or "": info.state.messages
            for info in await client.jetstream().streams_info()
            if (info.config.name or "").endswith("_DLQ")
        }
    finally:
        await client.close()


def test_a_billing_run_through_erp_sync_and_invoicing_database_outages_loses_nothing(
    billing_stack, nats_server
) -> None:
    catalog, metering, invoicing, erp_sync = billing_stack
    meter_id = make_meter(metering)
    subscribe_everyone(catalog, meter_id)
    asyncio.run(
        _publish_calls(
            nats_server.url, "march", [datetime(2026, 3, day, 12, tzinfo=UTC) for day in range(1, 13)]
        )
    )
    wait_until(lambda: march_calls(metering, meter_id) == 12 * len(CUSTOMERS), 60, "March usage counted")

    # While the run finalizes invoices, erp-sync's database is down and metering's closes wait on a lock;
    # then metering's database goes down too, with every close still in hand.
    set_connections(erp_sync.database_url, allowed=False)
    cut = time.monotonic()
    lock = TableLock(metering.database_url, "closed_periods")
    try:
        run = run_billing(invoicing, datetime(2026, 4, 2, tzinfo=UTC))
        assert (run.invoices_finalized, list(run.failures)) == (len(CUSTOMERS), [])
        march = {invoice.id: invoice for invoice in invoices(invoicing)}
        assert len(march) == len(CUSTOMERS)
        wait_until(
            lambda: (
                "metering-invoice-finalized: paused, a database lock was not granted in time"
                in metering.log_path.read_text()
            ),
            60,
            "metering's closes paused on the lock",
        )
        set_connections(metering.database_url, allowed=False)  # ends the lock holder's session too
        for service in (erp_sync, metering):
            wait_until(lambda s=service: s.health() == NOT_SERVING, 60, f"{service.name} not ready")
            assert service.health(LIVENESS_SERVICE) == SERVING
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - cut)))
        for service in (erp_sync, metering):
            assert service.process is not None and service.process.poll() is None, service.log()
            assert ": paused, the database is unreachable" in service.log_path.read_text(), service.log()
    finally:
        set_connections(metering.database_url, allowed=True)
        set_connections(erp_sync.database_url, allowed=True)
        lock.release()
    closed = f"SELECT customer FROM closed_periods WHERE closed_until_ms >= {ms(APRIL)}"
    wait_until(lambda: len(query(metering.database_url, closed)) == len(CUSTOMERS), 120, "every March closed")

    # March is closed for everyone, so a March call now is late: metering reports it while invoicing is away.
    set_connections(invoicing.database_url, allowed=False)
    cut = time.monotonic()
    try:
        asyncio.run(_publish_calls(nats_server.url, "late", [datetime(2026, 3, 30, tzinfo=UTC)]))
        wait_until(lambda: invoicing.health() == NOT_SERVING, 60, "invoicing not ready")
        assert invoicing.health(LIVENESS_SERVICE) == SERVING
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - cut)))
        assert invoicing.process is not None and invoicing.process.poll() is None, invoicing.log()
        assert "invoicing-usage-late: paused, the database is unreachable" in invoicing.log_path.read_text()
    finally:
        set_connections(invoicing.database_url, allowed=True)

    # Every finalized invoice reached erp-sync, every late call reached invoicing: none was dead-lettered.
    wait_until(lambda: synced_invoices(erp_sync) == set(march), 120, "a sync record for every invoice")
    wait_until(
        lambda: len(query(invoicing.database_url, "SELECT event_ids FROM late_usage")) == len(CUSTOMERS),
        120,
        "every UsageLate recorded by invoicing",
    )
    april_run = run_billing(invoicing, datetime(2026, 5, 2, tzinfo=UTC))
    assert list(april_run.failures) == []
    adjustments = [
        line
        for invoice in invoices(invoicing)
        if invoice.id not in march
        for line in invoice.lines
        if line.kind == pb.INVOICE_LINE_KIND_ADJUSTMENT
    ]
    # Each customer's thirteenth March call costs 6.00 (the tier past ten calls).
    assert sorted(line.corrects_invoice_id for line in adjustments) == sorted(march)
    assert {line.amount.amount for line in adjustments} == {"6.00"}
    assert all(count == 0 for count in asyncio.run(_dead_letters(nats_server.url)).values())
    for service in (erp_sync, metering, invoicing):
        wait_until(lambda s=service: s.health() == SERVING, 60, f"{service.name} ready again")
