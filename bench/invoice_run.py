"""Invoice-run benchmark: N subscriptions × 3 usage charges drafted and finalized by one RunBilling.

Real catalog, metering and invoicing processes on loopback with a real nats-server (SQLite by default, each
service its own database). Setup (not timed): N customers, one plan version with a fee and three usage charges
(graduated, unit, package) on three meters, N subscriptions that started last month, usage events for every
customer and meter last month. Timed: one `RunBilling` that drafts and finalizes every invoice (terms from
catalog, usage from metering's batch query, pricing, tax, gapless numbers, the outbox).
Baseline, measured in the same run: the pure drafting (`draft_invoice`) of the same N invoices in-process, so
the ratio shows what the mesh, the databases and numbering cost on this machine.
Target (issue 5): 10,000 subscriptions × 3 usage charges in ≤ 60 s. Afterwards it times PreviewInvoice (the
open period's cost to date, computed on every call) one call at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from tally.api.catalog.v1 import catalog_service_pb2 as cat
from tally.api.catalog.v1 import catalog_service_pb2_grpc as cat_grpc
from tally.api.ingestion.v1 import events_pb2
from tally.api.invoicing.v1 import invoicing_service_pb2 as pb
from tally.api.invoicing.v1 import invoicing_service_pb2_grpc as pb_grpc
from tally.api.metering.v1 import metering_service_pb2 as met
from tally.api.metering.v1 import metering_service_pb2_grpc as met_grpc
from tally.invoicing.billing.drafting import DraftInputs, draft_invoice
from tally.invoicing.billing.taxes import BilledCustomer
from tally.mesh import jetstream, streams
from tally.mesh.auth import generate_key
from tally.mesh.roles import service_scopes
from tally.pricing import (
    Charge,
    FlatPrice,
    GraduatedPrice,
    PackagePrice,
    Period,
    PlanVersion,
    Tier,
    UnitPrice,
)
from tally.testing.databases import fresh_postgres_database, sqlite_url
from tally.testing.nats_server import NatsServer
from tally.testing.services import ServiceProcess

METERS = ("api-calls", "storage-gb", "minutes")


def stamp(moment: datetime) -> Timestamp:
    value = Timestamp()
    value.FromDatetime(moment)
    return value


def last_month() -> Period:
    first = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    start = (first - timedelta(days=1)).replace(day=1)
    return Period(start, first)


def charges(meter_ids: dict[str, str], currency: str) -> list[cat.Charge]:
    def price(**model: object) -> cat.Price:
        return cat.Price(currency=currency, **model)  # type: ignore[arg-type]

    tiers = [cat.Tier(up_to="100", unit_price="0.10"), cat.Tier(unit_price="0.05")]
    return [
        cat.Charge(
            id="base",
            name="Platform fee",
            price=price(
                flat=cat.FlatPrice(amount="29.00", timing=cat.BILLING_TIMING_IN_ARREARS, prorate=True)
            ),
        ),
        cat.Charge(
            id="calls",
            name="API calls",
            price=price(meter_id=meter_ids["api-calls"], graduated=cat.GraduatedPrice(tiers=tiers)),
        ),
        cat.Charge(
            id="storage",
            name="Storage",
            price=price(meter_id=meter_ids["storage-gb"], unit=cat.UnitPrice(unit_price="0.023")),
        ),
        cat.Charge(
            id="minutes",
            name="Call minutes",
            price=price(
                meter_id=meter_ids["minutes"],
                package=cat.PackagePrice(package_size="60", package_price="1.50"),
            ),
        ),
    ]


def engine_plan() -> PlanVersion:
    return PlanVersion(
        "USD",
        (
            Charge("base", "Platform fee", FlatPrice("USD", Decimal("29.00"))),
            Charge(
                "calls",
                "API calls",
                GraduatedPrice("USD", (Tier(Decimal(100), Decimal("0.10")), Tier(None, Decimal("0.05")))),
            ),
            Charge("storage", "Storage", UnitPrice("USD", Decimal("0.023"))),
            Charge("minutes", "Call minutes", PackagePrice("USD", Decimal(60), Decimal("1.50"))),
        ),
    )


def baseline(subscriptions: int, period: Period) -> float:
    """Seconds to draft the same invoices with the pure engine alone."""
    plan = engine_plan()
    customer = BilledCustomer("c", "USD", Decimal(20))
    started = time.perf_counter()
    for n in range(subscriptions):
        draft_invoice(
            DraftInputs(
                customer=customer,
                plan=plan,
                period=period,
                active=Period(period.start, datetime(9999, 1, 1, tzinfo=UTC)),
                usage={
                    "calls": Decimal(150 + n % 7),
                    "storage": Decimal(40 + n % 3),
                    "minutes": Decimal(90 + n % 5),
                },
            )
        )
    return time.perf_counter() - started


class Stack:
    def __init__(self, workdir: Path, urls: dict[str, str]) -> None:
        self.nats = NatsServer(workdir / "nats")
        self.workdir = workdir
        self.urls = urls
        self.services: dict[str, ServiceProcess] = {}

    def __enter__(self) -> Stack:
        self.nats.start()
        token, record = generate_key("service:invoicing", service_scopes("invoicing"))
        for name in ("catalog", "metering", "invoicing"):
            env = {"TALLY_TRACE_EXPORT": "none"}
            if name == "invoicing":
                env.update(
                    TALLY_SERVICE_TOKEN=token,
                    TALLY_CATALOG_TARGET=self.services["catalog"].target,
                    TALLY_METERING_TARGET=self.services["metering"].target,
                )
            service = ServiceProcess(
                name, f"tally.{name}", self.urls[name], self.nats.url, self.workdir / name, env=env
            )
            service.keyring.add(record)
            service.start(timeout=60)
            self.services[name] = service
        return self

    def __exit__(self, *exc: object) -> None:
        for service in reversed(self.services.values()):
            service.stop()
        self.nats.kill()


async def setup(stack: Stack, subscriptions: int, period: Period) -> None:
    catalog, metering = stack.services["catalog"], stack.services["metering"]
    async with grpc.aio.insecure_channel(metering.target) as channel:
        stub = met_grpc.MeteringServiceStub(channel)
        meter_ids = {}
        for key in METERS:
            aggregation = met.AGGREGATION_COUNT if key == "api-calls" else met.AGGREGATION_SUM
            reply = await stub.CreateMeter(
                met.CreateMeterRequest(
                    meter=met.Meter(
                        key=key,
                        name=key,
                        event_type=key,
                        aggregation=aggregation,
                        value_property="" if key == "api-calls" else "v",
                    )
                ),
                metadata=metering.metadata(),
            )
            meter_ids[key] = reply.meter.id
    async with grpc.aio.insecure_channel(catalog.target) as channel:
        stub = cat_grpc.CatalogServiceStub(channel)
        md = catalog.metadata()
        plan = await stub.CreatePlan(cat.CreatePlanRequest(plan=cat.Plan(name="Bench")), metadata=md)
        version = await stub.PublishPlanVersion(
            cat.PublishPlanVersionRequest(
                plan_version=cat.PlanVersion(
                    plan_id=plan.plan.id, currency="USD", charges=charges(meter_ids, "USD")
                )
            ),
            metadata=md,
        )
        gate = asyncio.Semaphore(32)

        async def one(n: int) -> None:
            async with gate:
                customer = await stub.CreateCustomer(
                    cat.CreateCustomerRequest(
                        customer=cat.Customer(
                            external_id=f"cust-{n}",
                            name=f"Customer {n}",
                            currency="USD",
                            tax_rate_percent="20",
                        )
                    ),
                    metadata=md,
                )
                await stub.CreateSubscription(
                    cat.CreateSubscriptionRequest(
                        subscription=cat.Subscription(
                            customer_id=customer.customer.id,
                            plan_version_id=version.plan_version.id,
                            start_at=stamp(period.start),
                            billing_cycle=cat.BILLING_CYCLE_MONTHLY,
                            billing_anchor=cat.BILLING_ANCHOR_CALENDAR,
                        )
                    ),
                    metadata=md,
                )

        await asyncio.gather(*(one(n) for n in range(subscriptions)))
    # Usage as ingestion would hand it to metering: a few events per customer and meter, last month.
    nc = await jetstream.connect(stack.nats.url, name="bench-usage")
    js = nc.jetstream()
    at_ms = int((period.start + timedelta(days=3)).timestamp() * 1000)
    batch: list[events_pb2.UsageEvent] = []
    sent = 0

    async def flush() -> None:
        nonlocal batch, sent
        if not batch:
            return
        message = events_pb2.UsageBatchAccepted(
            batch_id=f"bench-{sent}", producer_id="bench", received_at_ms=at_ms, events=batch
        )
        await jetstream.publish(
            js, streams.usage_batch_subject(0), message.SerializeToString(), f"bench-{sent}"
        )
        sent += 1
        batch = []

    for n in range(subscriptions):
        for key, value in (("api-calls", ""), ("storage-gb", str(40 + n % 3)), ("minutes", str(90 + n % 5))):
            batch.append(
                events_pb2.UsageEvent(
                    event_id=f"{key}-{n}",
                    customer=f"cust-{n}",
                    event_type=key,
                    timestamp_ms=at_ms,
                    properties={"v": value} if value else {},
                )
            )
            if len(batch) >= 1000:
                await flush()
    await flush()
    await nc.close()
    await _wait_for_usage(metering, meter_ids["minutes"], f"cust-{subscriptions - 1}", period)


async def _wait_for_usage(metering: ServiceProcess, meter_id: str, customer: str, period: Period) -> None:
    from tally.api.common.v1 import period_pb2

    deadline = time.monotonic() + 600
    async with grpc.aio.insecure_channel(metering.target) as channel:
        stub = met_grpc.MeteringServiceStub(channel)
        while time.monotonic() < deadline:
            reply = await stub.GetUsage(
                met.GetUsageRequest(
                    customer=customer,
                    meter_id=meter_id,
                    period=period_pb2.Period(start=stamp(period.start), end=stamp(period.end)),
                ),
                metadata=metering.metadata(),
            )
            if any(Decimal(b.quantity) > 0 for b in reply.buckets):
                return
            await asyncio.sleep(0.5)
    raise TimeoutError("metering did not record the setup usage")


def timed_run(stack: Stack, period: Period) -> tuple[float, pb.RunBillingResponse]:
    invoicing = stack.services["invoicing"]
    with grpc.insecure_channel(invoicing.target) as channel:
        started = time.perf_counter()
        reply = pb_grpc.InvoicingServiceStub(channel).RunBilling(
            pb.RunBillingRequest(as_of=stamp(period.end + timedelta(hours=2))),
            metadata=invoicing.metadata(),
            timeout=900,
        )
        return time.perf_counter() - started, reply


def preview_latencies(stack: Stack, calls: int = 200) -> list[float]:
    """Milliseconds per PreviewInvoice (the open period's cost to date), one call at a time."""
    catalog, invoicing = stack.services["catalog"], stack.services["invoicing"]
    with grpc.insecure_channel(catalog.target) as channel:
        listed = cat_grpc.CatalogServiceStub(channel).ListSubscriptions(
            cat.ListSubscriptionsRequest(), metadata=catalog.metadata()
        )
    ids = [subscription.id for subscription in listed.subscriptions]
    took = []
    with grpc.insecure_channel(invoicing.target) as channel:
        stub = pb_grpc.InvoicingServiceStub(channel)
        for n in range(calls):
            started = time.perf_counter()
            stub.PreviewInvoice(
                pb.PreviewInvoiceRequest(subscription_id=ids[n % len(ids)]), metadata=invoicing.metadata()
            )
            took.append((time.perf_counter() - started) * 1000)
    return took


def run_once(database: str, subscriptions: int) -> tuple[float, float, pb.RunBillingResponse, list[float]]:
    period = last_month()
    with tempfile.TemporaryDirectory(prefix="tally-bench-invoices-") as tmp:
        workdir = Path(tmp)
        base = baseline(subscriptions, period)
        if database == "sqlite":
            urls = {}
            for name in ("catalog", "metering", "invoicing"):
                (workdir / f"db-{name}").mkdir()
                urls[name] = sqlite_url(workdir / f"db-{name}")
            with Stack(workdir, urls) as stack:
                asyncio.run(setup(stack, subscriptions, period))
                seconds, reply = timed_run(stack, period)
                previews = preview_latencies(stack)
        else:
            with (
                fresh_postgres_database() as c,
                fresh_postgres_database() as m,
                fresh_postgres_database() as i,
                Stack(workdir, {"catalog": c, "metering": m, "invoicing": i}) as stack,
            ):
                asyncio.run(setup(stack, subscriptions, period))
                seconds, reply = timed_run(stack, period)
                previews = preview_latencies(stack)
        return seconds, base, reply, previews


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument(
        "--runs", type=int, default=1, help="each run sets up a fresh stack (minutes at 10,000)"
    )
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args(argv)
    runs, bases, finalized, failures, previews = [], [], [], [], []
    for _ in range(args.runs):
        seconds, base, reply, took = run_once(args.database, args.subscriptions)
        previews.extend(took)
        runs.append(seconds)
        bases.append(base)
        finalized.append(reply.invoices_finalized)
        failures.append(len(reply.failures))
        if reply.failures:
            print(f"first failure: {reply.failures[0]}", file=sys.stderr)
    summary = {
        "bench": "invoice_run",
        "database": args.database,
        "subscriptions": args.subscriptions,
        "usage_charges": 3,
        "runs": len(runs),
        "run_seconds": round(statistics.median(runs), 2),
        "invoices_per_s": round(args.subscriptions / statistics.median(runs), 1),
        "invoices_finalized": int(statistics.median(finalized)),
        "failures": int(statistics.median(failures)),
        "baseline_pure_drafting_seconds": round(statistics.median(bases), 2),
        "preview_p50_ms": round(statistics.median(previews), 1),
        "preview_p99_ms": round(sorted(previews)[int(len(previews) * 0.99) - 1], 1),
        "target_seconds": 60,
    }
    print(json.dumps(summary), flush=True)
    print(
        f"invoice run: {args.subscriptions} subscriptions × 3 usage charges in {summary['run_seconds']} s "
        f"({summary['invoices_per_s']}/s; pure drafting alone {summary['baseline_pure_drafting_seconds']} s); target ≤ 60 s; "
        f"PreviewInvoice p50 {summary['preview_p50_ms']} ms, p99 {summary['preview_p99_ms']} ms",
        flush=True,
    )
    return 0 if summary["invoices_finalized"] == args.subscriptions else 1


if __name__ == "__main__":
    sys.exit(main())
