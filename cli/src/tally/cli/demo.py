"""``tally demo``: start a local Tally, send usage through ingestion → JetStream → metering, show its trace."""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path

import grpc.aio

from tally.api.ingestion.v1 import events_pb2
from tally.api.ingestion.v1 import ingestion_service_pb2 as ingestion_pb
from tally.api.ingestion.v1 import ingestion_service_pb2_grpc as ingestion_grpc
from tally.api.metering.v1 import metering_service_pb2 as metering_pb
from tally.api.metering.v1 import metering_service_pb2_grpc as metering_grpc
from tally.cli.demo_catalog import create_demo_catalog
from tally.cli.demo_usage import CUSTOMERS, create_meters, demo_period, stream_usage, usage_table
from tally.cli.stack import Stack, StackConfig, StackError
from tally.cli.topology import BY_NAME
from tally.cli.traces import read_spans, render_tree
from tally.mesh import telemetry
from tally.mesh.channel import open_channel
from tally.mesh.settings import MeshSettings


def run_demo(config: StackConfig, events: int = 1_000_000) -> int:
    if config.data_dir.exists():
        shutil.rmtree(config.data_dir)  # the demo always starts from an empty Tally
    stack = Stack(config)
    print(f"starting Tally (nats-server + 6 services) in {config.data_dir} ...", flush=True)
    started = time.monotonic()
    stack.start()
    print(f"all six services SERVING after {time.monotonic() - started:.1f}s:")
    for name, endpoint in stack.endpoints():
        print(f"  {name:<16} {endpoint}")
    try:
        trace_id = asyncio.run(_main_job(config, stack.admin_key, events))
    finally:
        print("\nstopping Tally ...", flush=True)
        stack.stop()
    files = sorted((config.data_dir / "traces").glob("*.jsonl"))
    print()
    print(render_tree(read_spans(files), trace_id))
    return 0


async def _main_job(config: StackConfig, admin_key: str, total_events: int) -> str:
    client_spans = config.data_dir / "traces" / "demo.jsonl"
    handle = telemetry.configure("demo", f"file:{client_spans.resolve()}")
    settings = MeshSettings(
        database_url="", nats_url=config.nats_url, keyring_path=Path(), service_token=admin_key
    )
    ingestion = open_channel(config.target(BY_NAME["ingestion"]), settings)
    metering = open_channel(config.target(BY_NAME["metering"]), settings)
    tracer = telemetry.tracer("tally.demo")
    try:
        print()
        async with grpc.aio.insecure_channel(config.target(BY_NAME["catalog"])) as catalog:
            await create_demo_catalog(catalog, admin_key)
        meter_ids = await create_meters(metering)
        print(f"\nmeters: {', '.join(meter_ids)}")
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
            f"\nstreaming {total_events:,} synthetic events ({len(CUSTOMERS)} customers, 3 event types) ...",
            flush=True,
        )
        result = await stream_usage(ingestion, metering, meter_ids, total_events)
        print(
            f"{result.events:,} events: accepted (durable) at {result.accepted_per_s:,.0f} events/s, "
            f"counted by metering at {result.committed_per_s:,.0f} events/s end to end"
        )
        print("\nusage over the last hours, per customer:")
        print(await usage_table(metering, meter_ids, demo_period(now_ms - 3_600_000)))
        return trace_id
    finally:
        await ingestion.close()
        await metering.close()
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
