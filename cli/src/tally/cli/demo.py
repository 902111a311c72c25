"""``tally demo``: a local Tally end to end: usage through ingestion → JetStream → metering, invoiced, traced."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from tally.api.ingestion.v1 import events_pb2
from tally.api.ingestion.v1 import ingestion_service_pb2 as ingestion_pb
from tally.api.ingestion.v1 import ingestion_service_pb2_grpc as ingestion_grpc
from tally.api.metering.v1 import metering_service_pb2 as metering_pb
from tally.api.metering.v1 import metering_service_pb2_grpc as metering_grpc
from tally.cli.demo_billing import BilledMonth, bill_month, last_month, render_billed_month, write_pdfs
from tally.cli.demo_catalog import create_demo_catalog
from tally.cli.demo_erp import DemoErp, ErpPostings, posting_path
from tally.cli.demo_plans import subscribe_customers
from tally.cli.demo_quotes import compare_with_invoices, quote_new_customer, quote_numbers
from tally.cli.demo_usage import CUSTOMERS, create_meters, demo_period, stream_usage, usage_table
from tally.cli.local_tls import stack_certificates
from tally.cli.mailbox import Mailbox, render_sent
from tally.cli.portal import demo_links
from tally.cli.stack import Stack, StackConfig, StackError, trace_export
from tally.cli.topology import BY_NAME, SERVICES
from tally.cli.traces import read_spans, render_tree
from tally.mesh import telemetry
from tally.mesh.channel import open_channel
from tally.mesh.settings import MeshSettings


def run_demo(config: StackConfig, events: int = 1_000_000, *, keep: bool = False) -> int:
    if config.data_dir.exists():
        shutil.rmtree(config.data_dir)  # the demo always starts from an empty Tally
    erp = DemoErp(config.data_dir)
    config = erp.start(config)
    mailbox = Mailbox.on_a_free_port()  # finalized invoices are e-mailed here, with their PDF
    mailbox.start()
    smtp = {
        "TALLY_SMTP_HOST": "127.0.0.1",
        "TALLY_SMTP_PORT": str(mailbox.port),
        "TALLY_SMTP_FROM": "billing@tally.example",
    }
    config = replace(config, extra_env={**config.extra_env, **smtp})
    stack = Stack(config)
    print(f"starting Tally (nats-server + {len(SERVICES)} services) in {config.data_dir} ...", flush=True)
    started = time.monotonic()
    stack.start()
    try:  # from here on, however the demo ends (a closed stdout included), the services are stopped
        print(f"all {len(SERVICES)} services SERVING after {time.monotonic() - started:.1f}s:")
        for name, endpoint in stack.endpoints():
            print(f"  {name:<16} {endpoint}")
        trace_id, billed, postings = asyncio.run(_main_job(config, stack.admin_key, events, erp))
        _wait_for_mail(mailbox, billed)
        demo_links(config, stack.admin_key, "acme")
        if keep:
            print("the stack stays up (--keep); Ctrl-C stops it.", flush=True)
            stack.watch()
    finally:
        with contextlib.suppress(OSError):
            print("\nstopping Tally ...", flush=True)
        stack.stop()
        erp.stop()
        mailbox.stop()
    files = sorted((config.data_dir / "traces").glob("*.jsonl"))
    print()
    spans = read_spans(files)
    print(render_tree(spans, trace_id))
    print()
    print(posting_path(spans))
    folder = config.data_dir / "invoices"
    write_pdfs(billed, folder)
    print()
    print(render_billed_month(billed, folder, postings.netsuite_ids))
    print()
    print(erp.render(postings, billed))
    print()
    print(render_sent(mailbox))
    return 0


def _wait_for_mail(mailbox: Mailbox, billed: BilledMonth) -> None:
    """Until every finalized invoice of the month was e-mailed (or 30 s: a loaded laptop)."""
    issued = sum(1 for invoice in billed.invoices if invoice.number)
    deadline = time.monotonic() + 30
    while len(mailbox.messages) < issued and time.monotonic() < deadline:
        time.sleep(0.1)


async def _main_job(
    config: StackConfig, admin_key: str, total_events: int, erp: DemoErp
) -> tuple[str, BilledMonth, ErpPostings]:
    client_spans = config.data_dir / "traces" / "demo.jsonl"
    handle = telemetry.configure("demo", trace_export(client_spans, {**os.environ, **config.extra_env}))
    tls = stack_certificates(config.data_dir)
    settings = MeshSettings(
        database_url="",
        nats_url=config.nats_url,
        keyring_path=Path(),
        service_token=admin_key,
        tls_cert_file=tls.cert if tls else None,
        tls_key_file=tls.key if tls else None,
        tls_ca_file=tls.ca if tls else None,
    )
    ingestion = open_channel(config.target(BY_NAME["ingestion"]), settings)
    metering = open_channel(config.target(BY_NAME["metering"]), settings)
    catalog = open_channel(config.target(BY_NAME["catalog"]), settings)
    invoicing = open_channel(config.target(BY_NAME["invoicing"]), settings)
    erp_sync = open_channel(config.target(BY_NAME["erp_sync"]), settings)
    quoting = open_channel(config.target(BY_NAME["quoting"]), settings)
    month = last_month(datetime.now(UTC))
    tracer = telemetry.tracer("tally.demo")
    try:
        print()
        demo_catalog = await create_demo_catalog(catalog, admin_key)
        meter_ids = await create_meters(metering)
        print(f"\nmeters: {', '.join(meter_ids)}")
        print(f"\nsubscriptions, billed by calendar month from {month.start:%Y-%m-%d}:")
        subscriptions = await subscribe_customers(catalog, demo_catalog, meter_ids, month.start)
        usd = next(s.subscription for s in subscriptions if s.customer.currency == "USD")
        quote = await quote_new_customer(quoting, usd.plan_version_id, meter_ids, month.start)
        now_ms = int(time.time() * 1000)
        events = [
            events_pb2.UsageEvent(
                event_id=f"demo-{i}",
                customer="acme",
                event_type="api_call",
                timestamp_ms=now_ms - i * 1000,
                properties={"endpoint": "/v1/search", "region": "eu"},
            )
            for i in range(5)
        ]
        events.append(
            events_pb2.UsageEvent(
                event_id="demo-bad", customer="", event_type="api_call", timestamp_ms=now_ms
            )
        )
        with tracer.start_as_current_span("demo: record usage") as span:
            trace_id = f"{span.get_span_context().trace_id:032x}"
            reply = await ingestion_grpc.IngestionServiceStub(ingestion).Ingest(
                ingestion_pb.IngestRequest(batch_id="demo-batch-1", events=events)
            )
        print(
            f"\nIngest: {reply.accepted_count} accepted (durable in JetStream), {len(reply.rejected)} rejected"
        )
        for rejected in reply.rejected:
            print(f"  rejected #{rejected.index} {rejected.code} {rejected.field}: {rejected.reason}")
        stored = await _wait_for_events(
            metering_grpc.MeteringServiceStub(metering), "acme", reply.accepted_count
        )
        print(f"metering stored {stored} events for customer acme (deduplicated by producer and event id)")
        print(
            f"\nstreaming {total_events:,} synthetic events ({len(CUSTOMERS)} customers, 3 event types; "
            f"every other batch backfills an hour of {month.start:%B %Y}) ...",
            flush=True,
        )
        result = await stream_usage(ingestion, metering, meter_ids, total_events, month)
        print(
            f"{result.events:,} events: accepted (durable) at {result.accepted_per_s:,.0f} events/s, "
            f"counted by metering at {result.committed_per_s:,.0f} events/s end to end"
        )
        print("\nusage over the last hours, per customer:")
        print(await usage_table(metering, meter_ids, demo_period(now_ms - 3_600_000)))
        print(f"\ninvoicing {month.start:%B %Y} (RunBilling) ...", flush=True)
        billed = await bill_month(invoicing, month, subscriptions)
        billed = replace(billed, quote_numbers=await quote_numbers(catalog, quoting, billed.invoices))
        await compare_with_invoices(quoting, quote)
        print("posting the invoices to NetSuite and paying one there ...", flush=True)
        return trace_id, billed, await erp.follow(invoicing, erp_sync, billed)
    finally:
        for channel in (ingestion, metering, catalog, invoicing, quoting, erp_sync):
            await channel.close()
        handle.shutdown()


async def _wait_for_events(stub: metering_grpc.MeteringServiceStub, customer: str, expected: int) -> int:
    deadline = time.monotonic() + 15
    while True:
        reply = await stub.ListEvents(metering_pb.ListEventsRequest(customer=customer))
        if len(reply.events) >= expected or time.monotonic() > deadline:
            if len(reply.events) < expected:
                raise StackError(f"metering shows {len(reply.events)} of {expected} events after 15s")
            return len(reply.events)
        await asyncio.sleep(0.1)
