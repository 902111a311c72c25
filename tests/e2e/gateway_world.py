"""A running local Tally (all seven services) with two billed customers, for the gateway's end-to-end tests."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from tally.api.catalog.v1 import catalog_service_pb2 as cat
from tally.api.catalog.v1 import catalog_service_pb2_grpc as cat_grpc
from tally.api.gateway.v1 import gateway_service_pb2 as gw
from tally.api.gateway.v1 import gateway_service_pb2_grpc as gw_grpc
from tally.api.ingestion.v1 import events_pb2
from tally.api.ingestion.v1 import ingestion_service_pb2 as ing
from tally.api.ingestion.v1 import ingestion_service_pb2_grpc as ing_grpc
from tally.api.invoicing.v1 import invoicing_service_pb2 as inv
from tally.api.invoicing.v1 import invoicing_service_pb2_grpc as inv_grpc
from tally.api.metering.v1 import metering_service_pb2 as met
from tally.api.metering.v1 import metering_service_pb2_grpc as met_grpc
from tally.cli.stack import Stack, StackConfig
from tally.cli.topology import BY_NAME, HTTP_PORT_SHIFT, SERVICES
from tally.testing.ports import free_port


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def base_port() -> int:
    for _ in range(50):
        base = free_port()
        ports = [base + offset for offset in range(len(SERVICES))] + [base + 6 + HTTP_PORT_SHIFT]
        if all(_free(port) for port in ports):
            return base
    raise RuntimeError("no run of free ports found")


def stamp(moment: datetime) -> Timestamp:
    value = Timestamp()
    value.FromDatetime(moment)
    return value


def month_start(moment: datetime, back: int = 0) -> datetime:
    index = moment.year * 12 + moment.month - 1 - back
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


@dataclass
class Customer:
    id: str
    external_id: str
    subscription_id: str


class World:
    """The stack, its admin key, the gateway's URL, the api_calls meter and customers acme and globex."""

    def __init__(self, data_dir: Path, extra_env: dict[str, str]) -> None:
        env = {"TALLY_BILLING_GRACE_MINUTES": "0", **extra_env}
        self.stack = Stack(
            StackConfig(
                data_dir=data_dir,
                base_port=base_port(),
                nats_port=free_port(),
                nats_monitor_port=free_port(),
                extra_env=env,
                trace_to_files=False,
            )
        )
        self.customers: dict[str, Customer] = {}
        self.meter_id = ""

    @property
    def config(self) -> StackConfig:
        return self.stack.config

    @property
    def url(self) -> str:
        return self.config.http_url(BY_NAME["gateway"])

    @property
    def admin_key(self) -> str:
        return self.stack.admin_key

    def target(self, name: str) -> str:
        return self.config.target(BY_NAME[name])

    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.admin_key}"),)

    def start(self) -> None:
        self.stack.start()
        try:
            self._seed()
        except BaseException:
            self.stack.stop()
            raise

    def stop(self) -> None:
        self.stack.stop()

    def _seed(self) -> None:
        md = self.metadata()
        with grpc.insecure_channel(self.target("metering")) as channel:
            self.meter_id = (
                met_grpc.MeteringServiceStub(channel)
                .CreateMeter(
                    met.CreateMeterRequest(
                        meter=met.Meter(
                            key="api_calls",
                            name="API calls",
                            event_type="api_call",
                            aggregation=met.AGGREGATION_COUNT,
                        )
                    ),
                    metadata=md,
                )
                .meter.id
            )
        with grpc.insecure_channel(self.target("catalog")) as channel:
            stub = cat_grpc.CatalogServiceStub(channel)
            product = stub.CreateProduct(
                cat.CreateProductRequest(product=cat.Product(name="API")), metadata=md
            ).product
            plan = stub.CreatePlan(cat.CreatePlanRequest(plan=cat.Plan(name="Usage")), metadata=md).plan
            version = stub.PublishPlanVersion(
                cat.PublishPlanVersionRequest(
                    plan_version=cat.PlanVersion(
                        plan_id=plan.id,
                        currency="USD",
                        charges=[
                            cat.Charge(
                                id="platform",
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
                                    meter_id=self.meter_id,
                                    unit=cat.UnitPrice(unit_price="0.25"),
                                ),
                            ),
                        ],
                    )
                ),
                metadata=md,
            ).plan_version
            start = month_start(datetime.now(UTC), back=1)
            for external_id, name in (("acme", "Acme Ltd"), ("globex", "Globex Corp")):
                customer = stub.CreateCustomer(
                    cat.CreateCustomerRequest(
                        customer=cat.Customer(
                            external_id=external_id, name=name, currency="USD", tax_rate_percent="20"
                        )
                    ),
                    metadata=md,
                ).customer
                subscription = stub.CreateSubscription(
                    cat.CreateSubscriptionRequest(
                        subscription=cat.Subscription(
                            customer_id=customer.id,
                            plan_version_id=version.id,
                            start_at=stamp(start),
                            billing_cycle=cat.BILLING_CYCLE_MONTHLY,
                            billing_anchor=cat.BILLING_ANCHOR_CALENDAR,
                        )
                    ),
                    metadata=md,
                ).subscription
                self.customers[external_id] = Customer(customer.id, external_id, subscription.id)
        # Last month is over: billing finalizes an invoice (its platform fee) for each customer.
        self.run_billing()

    def run_billing(self) -> inv.RunBillingResponse:
        with grpc.insecure_channel(self.target("invoicing")) as channel:
            return inv_grpc.InvoicingServiceStub(channel).RunBilling(
                inv.RunBillingRequest(), metadata=self.metadata(), timeout=60
            )

    def invoices(self, customer: str) -> list[inv.Invoice]:
        with grpc.insecure_channel(self.target("invoicing")) as channel:
            return list(
                inv_grpc.InvoicingServiceStub(channel)
                .ListInvoices(
                    inv.ListInvoicesRequest(customer_id=self.customers[customer].id), metadata=self.metadata()
                )
                .invoices
            )

    def preview(self, customer: str) -> inv.Invoice:
        with grpc.insecure_channel(self.target("invoicing")) as channel:
            return (
                inv_grpc.InvoicingServiceStub(channel)
                .PreviewInvoice(
                    inv.PreviewInvoiceRequest(subscription_id=self.customers[customer].subscription_id),
                    metadata=self.metadata(),
                )
                .invoice
            )

    def ingest(self, customer: str, count: int, prefix: str) -> ing.IngestResponse:
        now_ms = int(time.time() * 1000)
        events = [
            events_pb2.UsageEvent(
                event_id=f"{prefix}-{i}", customer=customer, event_type="api_call", timestamp_ms=now_ms - i
            )
            for i in range(count)
        ]
        with grpc.insecure_channel(self.target("ingestion")) as channel:
            return ing_grpc.IngestionServiceStub(channel).Ingest(
                ing.IngestRequest(batch_id=prefix, events=events), metadata=self.metadata()
            )

    def usage(self, customer: str, start: datetime, end: datetime) -> str:
        """The customer's api_calls over [start, end) as metering reports it."""
        with grpc.insecure_channel(self.target("metering")) as channel:
            reply = met_grpc.MeteringServiceStub(channel).GetUsage(
                met.GetUsageRequest(
                    customer=customer,
                    meter_id=self.meter_id,
                    period={"start": stamp(start), "end": stamp(end)},
                ),
                metadata=self.metadata(),
            )
        return reply.buckets[0].quantity if reply.buckets else "0"

    def wait_for_usage(self, customer: str, expected: int, timeout: float = 30.0) -> float:
        """Waits until metering counts ``expected`` events this month; returns the monotonic time it did."""
        start, end = month_start(datetime.now(UTC)), month_start(datetime.now(UTC), back=-1)
        deadline = time.monotonic() + timeout
        while True:
            if int(self.usage(customer, start, end)) >= expected:
                return time.monotonic()
            if time.monotonic() > deadline:
                raise AssertionError(f"metering did not count {expected} events for {customer} in {timeout}s")
            time.sleep(0.05)

    def gateway_admin(self) -> gw_grpc.GatewayAdminServiceStub:
        return gw_grpc.GatewayAdminServiceStub(grpc.insecure_channel(self.target("gateway")))

    def customer_key(self, customer: str) -> str:
        reply = self.gateway_admin().CreateCustomerKey(
            gw.CreateCustomerKeyRequest(customer=customer, name="test"), metadata=self.metadata()
        )
        return reply.secret

    def portal_link(self, customer: str, ttl_seconds: int = 0) -> str:
        return (
            self.gateway_admin()
            .CreatePortalLink(
                gw.CreatePortalLinkRequest(customer=customer, ttl_seconds=ttl_seconds),
                metadata=self.metadata(),
            )
            .url
        )
