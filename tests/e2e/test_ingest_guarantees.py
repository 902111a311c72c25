"""Ingestion and metering guarantees with real processes: retries, crashes and broker restarts count once."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import grpc
import pytest

from tally.api.ingestion.v1 import events_pb2
from tally.api.ingestion.v1 import ingestion_service_pb2 as ingestion_pb
from tally.api.ingestion.v1 import ingestion_service_pb2_grpc as ingestion_grpc
from tally.testing.databases import sqlite_url
from tally.testing.services import ServiceProcess

CUSTOMERS = [f"cust-{i}" for i in range(5)]
NOW_MS = int(time.time() * 1000)


def batch(seq: int, size: int = 500) -> ingestion_pb.IngestRequest:
    return ingestion_pb.IngestRequest(
        batch_id=f"batch-{seq}",
        events=[
            events_pb2.UsageEvent(
                event_id=f"{seq}-{i}",
                customer=CUSTOMERS[i % len(CUSTOMERS)],
                event_type="api_call",
                timestamp_ms=NOW_MS - 60_000 + i,
            )
            for i in range(size)
        ],
    )


@pytest.fixture
def pipeline(tmp_path, nats_server):
    services = {}
    for name in ("metering", "ingestion"):
        services[name] = ServiceProcess(
            name, f"tally.{name}", sqlite_url(tmp_path / name), nats_server.url, tmp_path / name
        )
        services[name].start()
    metering = services["metering"]
    meter_id = metering.create_count_meter()
    yield services, meter_id
    for service in services.values():
        service.kill()


def total_usage(metering: ServiceProcess, meter_id: str) -> Decimal:
    return metering.usage_total(meter_id, CUSTOMERS, NOW_MS - 3_600_000, NOW_MS + 3_600_000, timeout=10)


def settle(metering: ServiceProcess, meter_id: str, expected: int, limit_s: float = 60) -> Decimal:
    """The usage once it stops changing (or reaches ``expected``), then checked again to catch overcounting."""
    deadline = time.monotonic() + limit_s
    seen = Decimal(-1)
    while time.monotonic() < deadline:
        try:
            seen = total_usage(metering, meter_id)
        except grpc.RpcError:
            seen = Decimal(-1)  # metering restarting
        if seen >= expected:
            break
        time.sleep(0.2)
    time.sleep(1.0)
    return total_usage(metering, meter_id)


def send(ingestion: ServiceProcess, request: ingestion_pb.IngestRequest, attempts: int = 100) -> int:
    """Send until acknowledged, retrying the same batch (same batch id), as a well-behaved producer does."""
    with grpc.insecure_channel(ingestion.target) as channel:
        stub = ingestion_grpc.IngestionServiceStub(channel)
        for _ in range(attempts):
            try:
                return stub.Ingest(request, metadata=ingestion.metadata(), timeout=10).accepted_count
            except grpc.RpcError as error:
                if error.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                    raise
                time.sleep(0.2)
    raise AssertionError(f"batch {request.batch_id} never acknowledged")


def test_the_same_batch_sent_three_times_is_counted_once(pipeline):
    services, meter_id = pipeline
    request = batch(1)
    replies = [send(services["ingestion"], request) for _ in range(3)]
    assert replies == [500, 500, 500]
    assert settle(services["metering"], meter_id, 500) == 500


def test_metering_killed_mid_stream_ends_with_exact_totals(pipeline):
    services, meter_id = pipeline
    metering = services["metering"]
    acknowledged = []

    def producer() -> None:
        for seq in range(40):
            acknowledged.append(send(services["ingestion"], batch(seq)))

    sender = threading.Thread(target=producer)
    sender.start()
    while len(acknowledged) < 10:
        time.sleep(0.01)
    metering.kill()  # SIGKILL: no drain, no goodbye; whatever was fetched and not acked is redelivered
    time.sleep(0.5)
    metering.start()
    sender.join(timeout=120)
    assert sum(acknowledged) == 40 * 500
    assert settle(metering, meter_id, 40 * 500) == 40 * 500


def test_nothing_acknowledged_is_lost_when_nats_server_restarts(pipeline, nats_server):
    services, meter_id = pipeline
    acknowledged = []

    def producer() -> None:
        for seq in range(40):
            acknowledged.append(send(services["ingestion"], batch(seq)))

    sender = threading.Thread(target=producer)
    sender.start()
    while len(acknowledged) < 10:
        time.sleep(0.01)
    nats_server.stop()
    time.sleep(1.0)
    nats_server.start()
    sender.join(timeout=180)
    assert len(acknowledged) == 40
    assert settle(services["metering"], meter_id, sum(acknowledged), limit_s=90) == sum(acknowledged)
