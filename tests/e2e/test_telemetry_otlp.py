"""`tally up` with OTEL_EXPORTER_OTLP_ENDPOINT: a real OTLP receiver gets spans, metrics and logs from all six
services, and one trace runs from Ingest through JetStream and the billing run to the ERP sync of the invoice
that bills that usage."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tally.api.ingestion.v1 import events_pb2
from tally.api.ingestion.v1 import ingestion_service_pb2 as ingestion_pb
from tally.api.ingestion.v1 import ingestion_service_pb2_grpc as ingestion_grpc
from tally.api.invoicing.v1 import invoicing_service_pb2 as invoicing_pb
from tally.api.invoicing.v1 import invoicing_service_pb2_grpc as invoicing_grpc
from tally.api.metering.v1 import metering_service_pb2 as metering_pb
from tally.api.metering.v1 import metering_service_pb2_grpc as metering_grpc
from tally.cli.demo_billing import last_month
from tally.cli.demo_catalog import create_demo_catalog
from tally.cli.demo_plans import RATES, subscribe_customers
from tally.cli.demo_usage import create_meters
from tally.cli.topology import SERVICES
from tally.mesh import telemetry
from tally.mesh.channel import open_channel
from tally.mesh.settings import MeshSettings
from tally.mesh.wire import timestamp_to_wire
from tally.testing.otlp import OtlpReceiver, ReceivedSpan
from tally.testing.ports import free_port

SERVER, PRODUCER, CONSUMER = 2, 4, 5  # OTLP span kinds
CALLS = 2500
SERVICE_NAMES = {spec.name for spec in SERVICES}


def consecutive_free_ports(count: int) -> int:
    for _ in range(50):
        base = free_port()
        if all(_free(base + offset) for offset in range(count)):
            return base
    raise RuntimeError("no run of free ports found")


def _free(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class TallyUp:
    """`tally up` as a user starts it, in a subprocess with the user's environment."""

    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        self.data_dir = data_dir
        command = [
            sys.executable, "-m", "tally.cli", "up", "--data-dir", str(data_dir),
            "--base-port", str(consecutive_free_ports(len(SERVICES))), "--nats-port", str(free_port()),
            "--nats-monitor-port", str(free_port()),
        ]  # fmt: skip
        self.output = data_dir.parent / "tally-up.out"
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        with self.output.open("wb") as out:
            self.process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)

    def wait_up(self, timeout: float = 120.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"tally up exited {self.process.returncode}:\n{self.output.read_text()}")
            if "Ctrl-C stops everything." in self.output.read_text():
                return json.loads((self.data_dir / "stack.json").read_text())
            time.sleep(0.2)
        raise AssertionError(f"tally up not up after {timeout}s:\n{self.output.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


async def bill_ingested_usage(targets: dict[str, str], admin_key: str) -> tuple[str, invoicing_pb.Invoice]:
    """Catalog, meters and subscriptions; then, in one operator trace, usage of last month and a billing run."""
    settings = MeshSettings(database_url="", nats_url="", keyring_path=Path(), service_token=admin_key)
    channels = {name: open_channel(target, settings) for name, target in targets.items()}
    month = last_month(datetime.now(UTC))
    try:
        demo_catalog = await create_demo_catalog(channels["catalog"], admin_key)
        meter_ids = await create_meters(channels["metering"])
        subscriptions = await subscribe_customers(channels["catalog"], demo_catalog, meter_ids, month.start)
        acme = next(s for s in subscriptions if s.customer.external_id == "acme")
        at_ms = int((month.start + timedelta(days=3)).timestamp() * 1000)
        events = [
            events_pb2.UsageEvent(
                event_id=f"otlp-{i}", customer="acme", event_type="api_call", timestamp_ms=at_ms + i
            )
            for i in range(CALLS)
        ]
        with telemetry.tracer("tally.e2e").start_as_current_span("operator: bill last month") as root:
            trace_id = f"{root.get_span_context().trace_id:032x}"
            reply = await ingestion_grpc.IngestionServiceStub(channels["ingestion"]).Ingest(
                ingestion_pb.IngestRequest(batch_id="otlp-batch", events=events)
            )
            assert reply.accepted_count == CALLS
            metering = metering_grpc.MeteringServiceStub(channels["metering"])
            deadline = time.monotonic() + 60
            while not (
                await metering.ListEvents(
                    metering_pb.ListEventsRequest(customer="acme", page={"page_size": 1})
                )
            ).events:
                assert time.monotonic() < deadline, "metering counted nothing within 60 s"
                await asyncio.sleep(0.2)
            # The batch is one message, committed in one transaction: one event listed means all are.
            invoicing = invoicing_grpc.InvoicingServiceStub(channels["invoicing"])
            await invoicing.RunBilling(
                invoicing_pb.RunBillingRequest(as_of=timestamp_to_wire(datetime.now(UTC))), timeout=120
            )
        listed_invoices = await invoicing.ListInvoices(
            invoicing_pb.ListInvoicesRequest(customer_id=acme.customer.id)
        )
        regular = [
            i
            for i in listed_invoices.invoices
            if i.number and i.period.start.seconds == int(month.start.timestamp())
        ]
        assert regular, f"no finalized invoice for acme: {listed_invoices}"
        invoice = (
            await invoicing.GetInvoice(invoicing_pb.GetInvoiceRequest(invoice_id=regular[-1].id))
        ).invoice
        return trace_id, invoice
    finally:
        for channel in channels.values():
            await channel.close()


def _one(spans: list[ReceivedSpan], service: str, kind: int, name_part: str) -> ReceivedSpan:
    found = [s for s in spans if s.service == service and s.kind == kind and name_part in s.name]
    assert len(found) >= 1, f"no {service} span kind {kind} named *{name_part}*: {[s.name for s in spans]}"
    return found[0]


@pytest.mark.timeout(300)
def test_tally_up_exports_every_signal_of_every_service_with_one_trace_from_ingest_to_billing(
    tmp_path, monkeypatch
):
    receiver = OtlpReceiver().start()
    otel = receiver.environment(interval_ms=500)
    otel["OTEL_RESOURCE_ATTRIBUTES"] = "deployment.environment.name=e2e"
    env = {
        **os.environ,
        **otel,
        "OTEL_SERVICE_NAME": "one-name-for-all",  # `tally up` must not give the six services one name
        "TALLY_BILLING_GRACE_MINUTES": "0",  # finalize last month now, whatever the time of day
    }
    for key, value in otel.items():  # the operator (this test) exports its spans to the receiver too
        monkeypatch.setenv(key, value)
    handle = telemetry.configure("e2e-operator", "otlp")
    stack = TallyUp(tmp_path / "stack", env)
    try:
        state = stack.wait_up()
        admin_key = (stack.data_dir / "secrets" / "admin.key").read_text().strip()
        trace_id, invoice = asyncio.run(bill_ingested_usage(state["services"], admin_key))
        handle.force_flush()
        # erp-sync consumes InvoiceFinalized after the run answered; wait for its span before stopping.
        receiver.wait_for(
            lambda: [
                s
                for s in receiver.spans()
                if s.trace_id == trace_id and s.service == "erp_sync" and s.kind == CONSUMER
            ],
            what="erp-sync consumer span in the operator's trace",
        )
    finally:
        stack.stop()
        handle.shutdown()
        receiver.stop()

    # The invoice line bills exactly the usage ingested in this trace: 2,500 calls = 3 packages of 1,000.
    (line,) = [line for line in invoice.lines if line.charge_id == "api-calls"]
    assert line.quantity == str(CALLS)
    assert line.amount.currency == "USD"
    assert Decimal(line.amount.amount) == 3 * Decimal(RATES["USD"].per_1000_calls) == Decimal("1.50")

    spans = receiver.spans()
    traced = [s for s in spans if s.trace_id == trace_id]
    by_id = {s.span_id: s for s in traced}
    # Ingest → publish → metering's consumer: one trace across JetStream, parent to child.
    ingest = _one(traced, "ingestion", SERVER, "IngestionService/Ingest")
    publish = _one(traced, "ingestion", PRODUCER, "tally.usage.batches")
    counted = _one(traced, "metering", CONSUMER, "tally.usage.batches")
    assert counted.parent_span_id == publish.span_id
    assert by_id[publish.parent_span_id].service == "ingestion"
    assert counted.attributes["tally.events.inserted"] == CALLS
    # The billing run of that invoice, its usage read from metering, and the InvoiceFinalized it published
    # (through the outbox relay) consumed by erp-sync, still in the same trace.
    run = _one(traced, "invoicing", SERVER, "InvoicingService/RunBilling")
    usage = [s for s in traced if s.service == "metering" and s.kind == SERVER and "Usage" in s.name]
    assert usage, "metering served no usage query in the billing run's trace"
    finalized = _one(traced, "invoicing", PRODUCER, "tally.invoicing.invoice_finalized")
    synced = _one(traced, "erp_sync", CONSUMER, "tally.invoicing.invoice_finalized")
    assert synced.parent_span_id == finalized.span_id
    # Both descend from the operator's one root span.
    (root,) = [s for s in traced if not s.parent_span_id]
    assert root.name == "operator: bill last month" and root.service == "e2e-operator"
    for span in (ingest, counted, run, synced):
        while span.parent_span_id:
            span = by_id[span.parent_span_id]
        assert span is root
    # SQL statements inside the run are spans with db.system; statements outside any work (the relay's
    # idle polling) make none, so no SQL span is a root.
    assert any(s.attributes.get("db.system") == "sqlite" and s.service == "invoicing" for s in traced)
    sql = [s for s in spans if "db.system" in s.attributes]
    assert sql and all(s.parent_span_id for s in sql)
    # Health probes (tally up polled every service) and reflection are not traced.
    assert not [s for s in spans if "grpc.health" in s.name or "grpc.reflection" in s.name]

    # Every resource names its service and version: the six services, and the operator.
    resources = (
        [s.resource for s in spans]
        + [m.resource for m in receiver.metrics()]
        + [r.resource for r in receiver.logs()]
    )
    assert {r["service.name"] for r in resources} == SERVICE_NAMES | {"e2e-operator"}
    assert all(r.get("service.version") for r in resources)
    assert all(r.get("deployment.environment.name") == "e2e" for r in resources)

    metrics = receiver.metrics()
    for service in SERVICE_NAMES:
        names = {m.name for m in metrics if m.service == service}
        assert "tally.outbox.backlog" in names, (service, names)
    served = {m.service for m in metrics if m.name == "rpc.server.call.duration"}
    assert {"ingestion", "metering", "catalog", "invoicing"} <= served
    # The billing run drafted and finalized the invoice: invoicing counts both.
    counted_invoices = {m.name for m in metrics if m.service == "invoicing"}
    assert {"tally.invoices.drafted", "tally.invoices.finalized"} <= counted_invoices, counted_invoices
    lag = [m for m in metrics if m.name == "tally.consumer.lag" and m.service == "metering"]
    assert any(point.get("tally.stream") == "USAGE" for m in lag for point in m.point_attributes())

    logs = receiver.logs()
    assert {r.service for r in logs} == SERVICE_NAMES
    assert [r for r in logs if r.service == "erp_sync" and r.trace_id == trace_id], (
        "no erp-sync log in the trace"
    )
    # The same records on stdout, as JSON lines carrying the trace and span ids.
    stdout = (stack.data_dir / "logs" / "erp_sync.log").read_text().splitlines()
    records = [json.loads(line) for line in stdout if line.startswith("{")]
    assert [r for r in records if r.get("trace_id") == trace_id and r.get("span_id")]
