"""One trace spans a gRPC call into ingestion, the JetStream hop and the consumer in metering."""

import asyncio
import json
import sqlite3
import time
from pathlib import Path

import pytest

from tally.api.ingestion.v1 import events_pb2
from tally.api.ingestion.v1 import ingestion_service_pb2 as pb
from tally.api.ingestion.v1 import ingestion_service_pb2_grpc as pb_grpc
from tally.mesh import telemetry
from tally.mesh.channel import open_channel
from tally.mesh.settings import MeshSettings
from tally.testing.databases import sqlite_url
from tally.testing.services import ServiceProcess


@pytest.fixture
def services(tmp_path, nats_server):
    started = []
    for name in ("metering", "ingestion"):
        service = ServiceProcess(
            name, f"tally.{name}", sqlite_url(tmp_path / name), nats_server.url, tmp_path / name
        )
        service.start()
        started.append(service)
    yield {service.name: service for service in started}
    for service in started:
        service.kill()


def read_spans(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def test_one_trace_id_from_client_through_nats_to_metering(services, tmp_path):
    handle = telemetry.configure("test-client", "memory")
    ingestion, metering = services["ingestion"], services["metering"]
    settings = MeshSettings(
        database_url="", nats_url="", keyring_path=tmp_path / "unused", service_token=ingestion.admin_key
    )
    # acme's usage is invoiced up to the far future: the event arrives late and metering announces it.
    with sqlite3.connect(tmp_path / "metering" / "test.db") as db:
        db.execute("INSERT INTO closed_periods VALUES ('acme', ?)", (int(time.time() * 1000) + 86_400_000,))
    channel = open_channel(ingestion.target, settings)
    event = events_pb2.UsageEvent(
        event_id="e-1", customer="acme", event_type="api_call", timestamp_ms=int(time.time() * 1000)
    )
    reply = await pb_grpc.IngestionServiceStub(channel).Ingest(
        pb.IngestRequest(batch_id="traced", events=[event])
    )
    await channel.close()
    assert reply.accepted_count == 1

    (client_span,) = [s for s in handle.finished_spans() if s.kind.name == "CLIENT"]
    trace_id = f"{client_span.context.trace_id:032x}"

    server = [
        s
        for s in read_spans(ingestion.workdir / "ingestion.spans.jsonl")
        if s["trace_id"] == trace_id and s["kind"] == "SERVER"
    ]
    assert [s["name"] for s in server] == ["tally.api.ingestion.v1.IngestionService/Ingest"]
    assert server[0]["parent_span_id"] == f"{client_span.context.span_id:016x}"
    (producer,) = [
        s for s in read_spans(ingestion.workdir / "ingestion.spans.jsonl") if s["kind"] == "PRODUCER"
    ]
    assert producer["trace_id"] == trace_id

    deadline = time.monotonic() + 15
    consumer = []
    while not consumer and time.monotonic() < deadline:
        consumer = [
            s
            for s in read_spans(metering.workdir / "metering.spans.jsonl")
            if s["kind"] == "CONSUMER" and s["trace_id"] == trace_id
        ]
        await asyncio.sleep(0.1)
    assert consumer, "metering recorded no consumer span in the client's trace"
    assert consumer[0]["parent_span_id"] == producer["span_id"]
    assert consumer[0]["service"] == "metering"
    assert consumer[0]["attributes"]["tally.events.inserted"] == 1
    assert consumer[0]["attributes"]["tally.events.late"] == 1

    # The UsageLate that delivery caused, published later by metering's outbox relay, continues its trace.
    late = []
    while not late and time.monotonic() < deadline:
        late = [
            s
            for s in read_spans(metering.workdir / "metering.spans.jsonl")
            if s["kind"] == "PRODUCER" and s["name"] == "tally.metering.usage_late publish"
        ]
        await asyncio.sleep(0.1)
    assert [s["trace_id"] for s in late] == [trace_id], "UsageLate did not continue the usage's trace"
    handle.shutdown()
