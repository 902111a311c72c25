"""A JetStream store far smaller than the usage sent through it: acked batches are freed, so nothing is refused;
with metering stopped the store fills, Ingest answers UNAVAILABLE with a retry hint, and every event
acknowledged before that is counted once metering is back."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import grpc
import pytest

from tally.api.ingestion.v1 import events_pb2
from tally.api.ingestion.v1 import ingestion_service_pb2 as ingestion_pb
from tally.api.ingestion.v1 import ingestion_service_pb2_grpc as ingestion_grpc
from tally.mesh.errors import retry_delay_s
from tally.testing.databases import sqlite_url
from tally.testing.nats_server import NatsServer
from tally.testing.services import ServiceProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

STORE_MB = int(os.environ.get("TALLY_BOUNDED_STORE_MB", "64"))
EVENTS = int(os.environ.get("TALLY_BOUNDED_STORE_EVENTS", "2000000"))
"""The issue's numbers: two million events (about 170 MB of requests) through a 64 MB store. A smaller run
keeps the ratio, e.g. TALLY_BOUNDED_STORE_MB=16 TALLY_BOUNDED_STORE_EVENTS=500000."""
RATE = int(os.environ.get("TALLY_BOUNDED_STORE_RATE", "10000"))
"""Events/s the producers send at: below what metering sustains on this machine, so its backlog (what the
stream holds) stays small however much goes through. Faster than metering, the backlog grows until the
stream is full and Ingest pushes back (part 2), as intended."""
BATCH = 1000
CUSTOMERS = [f"cust-{i}" for i in range(16)]
NOW_MS = int(time.time() * 1000)
STREAM_ENV = {
    "TALLY_USAGE_STREAM_MAX_BYTES": f"{STORE_MB // 2}MB",
    "TALLY_EVENT_STREAM_MAX_BYTES": "512KB",
    "TALLY_JETSTREAM_STORE_BYTES": f"{STORE_MB}MB",
    "TALLY_INGEST_FULL_RETRY_SECONDS": "2",
}


def batch(seq: int) -> ingestion_pb.IngestRequest:
    return ingestion_pb.IngestRequest(
        batch_id=f"batch-{seq}",
        events=[
            events_pb2.UsageEvent(
                event_id=f"{seq}-{i}",
                customer=CUSTOMERS[i % len(CUSTOMERS)],
                event_type="api_call",
                timestamp_ms=NOW_MS - 60_000 + i,
                properties={"region": "eu-west-1", "endpoint": f"/v1/things/{i % 50}"},
            )
            for i in range(BATCH)
        ],
    )


def total_usage(metering: ServiceProcess, meter_id: str) -> Decimal:
    return metering.usage_total(meter_id, CUSTOMERS, NOW_MS - 3_600_000, NOW_MS + 3_600_000, timeout=30)


def settle(metering: ServiceProcess, meter_id: str, expected: int, limit_s: float) -> Decimal:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if total_usage(metering, meter_id) >= expected:
            break
        time.sleep(0.5)
    time.sleep(1.0)  # then once more: an overcount would show here
    return total_usage(metering, meter_id)


@pytest.fixture
def stack(tmp_path):
    nats = NatsServer(tmp_path / "nats", max_file_store=f"{STORE_MB}MB")
    nats.start()
    services = {
        name: ServiceProcess(
            name, f"tally.{name}", sqlite_url(tmp_path / name), nats.url, tmp_path / name, env=STREAM_ENV
        )
        for name in ("metering", "ingestion")
    }
    for service in services.values():
        service.start()
    metering = services["metering"]
    meter_id = metering.create_count_meter()
    yield nats, services, meter_id
    for service in services.values():
        service.kill()
    nats.kill()


def test_a_store_far_smaller_than_the_traffic_refuses_nothing_and_fills_only_while_metering_is_stopped(stack):
    _nats, services, meter_id = stack
    ingestion, metering = services["ingestion"], services["metering"]
    refused: list[str] = []
    sent_bytes = 0
    lock = threading.Lock()

    def send(seq: int) -> int:
        nonlocal sent_bytes
        request = batch(seq)
        with grpc.insecure_channel(ingestion.target) as channel:
            stub = ingestion_grpc.IngestionServiceStub(channel)
            try:
                reply = stub.Ingest(request, metadata=ingestion.metadata(), timeout=30)
            except grpc.RpcError as error:
                with lock:
                    refused.append(f"{request.batch_id}: {error.code().name} {error.details()}")
                return 0
        with lock:
            sent_bytes += request.ByteSize()
        return reply.accepted_count

    def paced(seq: int) -> int:
        time.sleep(max(0.0, started + seq * BATCH / RATE - time.monotonic()))
        return send(seq)

    # 1. Metering running: the stream holds only the backlog, so traffic many times the store goes through.
    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        accepted = sum(pool.map(paced, range(EVENTS // BATCH)))
    took = time.monotonic() - started
    assert refused == [], refused[:3]
    assert accepted == EVENTS
    assert sent_bytes > 2 * STORE_MB * 1024 * 1024, "the test did not push twice the store through"
    assert settle(metering, meter_id, EVENTS, limit_s=600) == EVENTS
    print(
        f"\n{EVENTS} events ({sent_bytes / 1e6:.0f} MB of requests) through a {STORE_MB} MB store in {took:.0f}s"
    )

    # 2. Metering stopped: the stream fills, and then Ingest answers UNAVAILABLE with a retry hint.
    assert metering.stop() == 0
    acknowledged = 0
    seq = EVENTS // BATCH
    refusal: grpc.RpcError | None = None
    with grpc.insecure_channel(ingestion.target) as channel:
        stub = ingestion_grpc.IngestionServiceStub(channel)
        while refusal is None and seq < EVENTS // BATCH + 1000:
            try:
                acknowledged += stub.Ingest(
                    batch(seq), metadata=ingestion.metadata(), timeout=30
                ).accepted_count
                seq += 1
            except grpc.RpcError as error:
                refusal = error
    assert refusal is not None, "the store never filled"
    assert refusal.code() == grpc.StatusCode.UNAVAILABLE, refusal
    assert "the event store is full" in refusal.details()
    assert retry_delay_s(refusal) == 2.0
    assert acknowledged > 0

    # 3. Metering back: every acknowledged event is counted; the refused batch, retried as told, goes in.
    metering.start()
    deadline = time.monotonic() + 300
    while True:
        try:
            with grpc.insecure_channel(ingestion.target) as channel:
                retried = ingestion_grpc.IngestionServiceStub(channel).Ingest(
                    batch(seq), metadata=ingestion.metadata(), timeout=30
                )
            break
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.UNAVAILABLE and time.monotonic() < deadline, error
            time.sleep(retry_delay_s(error) or 1.0)
    expected = EVENTS + acknowledged + retried.accepted_count
    assert settle(metering, meter_id, expected, limit_s=300) == expected
