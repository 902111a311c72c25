"""PostgreSQL outages end with exact totals: nothing acknowledged is dead-lettered or lost, reads say UNAVAILABLE.

The outage length comes from TALLY_TEST_OUTAGE_SECONDS (default 90, what CI affords; the acceptance asks for
600, run with TALLY_TEST_OUTAGE_SECONDS=600 make test-slow). The database refuses new connections and loses
every open one (ALTER DATABASE ... ALLOW_CONNECTIONS false and pg_terminate_backend) for that long.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

import grpc
import nats
import pytest
from grpc_health.v1 import health_pb2

from tally.api.common.v1 import pagination_pb2
from tally.api.ingestion.v1 import events_pb2
from tally.api.ingestion.v1 import ingestion_service_pb2 as ingestion_pb
from tally.api.ingestion.v1 import ingestion_service_pb2_grpc as ingestion_grpc
from tally.mesh.errors import retry_delay_s
from tally.mesh.readiness import LIVENESS_SERVICE
from tally.testing.databases import fresh_postgres_database, set_connections
from tally.testing.services import ServiceProcess

OUTAGE_S = float(os.environ.get("TALLY_TEST_OUTAGE_SECONDS", "90"))

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(2 * OUTAGE_S + 600)]
INGESTION_OUTAGE_S = 60.0
CUSTOMERS = [f"cust-{i}" for i in range(5)]
NOW_MS = int(time.time() * 1000)
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
BATCH = 200


@pytest.fixture
def pipeline(tmp_path, nats_server) -> Iterator[tuple[dict[str, ServiceProcess], str]]:
    with fresh_postgres_database() as metering_db, fresh_postgres_database() as ingestion_db:
        services = {
            "metering": ServiceProcess(
                "metering", "tally.metering", metering_db, nats_server.url, tmp_path / "m"
            ),
            "ingestion": ServiceProcess(
                "ingestion", "tally.ingestion", ingestion_db, nats_server.url, tmp_path / "i"
            ),
        }
        try:
            for service in services.values():
                service.start()
            metering = services["metering"]
            meter_id = metering.create_count_meter()
            yield services, meter_id
        finally:
            for service in services.values():
                service.kill()


def batch(seq: int, *, bad: int = 0) -> ingestion_pb.IngestRequest:
    """BATCH good events, then ``bad`` events without a customer (rejected, logged in ListRejected)."""
    events = [
        events_pb2.UsageEvent(
            event_id=f"{seq}-{i}",
            customer=CUSTOMERS[i % len(CUSTOMERS)],
            event_type="api_call",
            timestamp_ms=NOW_MS - 60_000 + i,
        )
        for i in range(BATCH)
    ]
    events += [
        events_pb2.UsageEvent(event_id=f"{seq}-bad-{i}", event_type="api_call", timestamp_ms=NOW_MS)
        for i in range(bad)
    ]
    return ingestion_pb.IngestRequest(batch_id=f"batch-{seq}", events=events)


@dataclass
class Producer:
    """Sends batches one after another, retrying UNAVAILABLE with the same batch id, noting every answer."""

    ingestion: ServiceProcess
    key: str | None = None
    bad_per_batch: int = 0
    answers: Counter[str] = field(default_factory=Counter)
    acknowledged_events: int = 0
    acknowledged_batches: list[tuple[float, str]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with grpc.insecure_channel(self.ingestion.target) as channel:
            stub = ingestion_grpc.IngestionServiceStub(channel)
            seq = 0
            while not self.stop.is_set():
                request = batch(seq, bad=self.bad_per_batch)
                while True:
                    try:
                        reply = stub.Ingest(request, metadata=self.ingestion.metadata(self.key), timeout=15)
                    except grpc.RpcError as error:
                        self.answers[error.code().name] += 1
                        if error.code() != grpc.StatusCode.UNAVAILABLE:
                            self.failures.append(f"{request.batch_id}: {error.code().name} {error.details()}")
                            return
                        time.sleep(0.2)
                        continue
                    self.answers["OK"] += 1
                    self.acknowledged_events += reply.accepted_count
                    self.acknowledged_batches.append((time.monotonic(), request.batch_id))
                    break
                seq += 1
                time.sleep(0.05)


def total_usage(metering: ServiceProcess, meter_id: str) -> Decimal:
    return metering.usage_total(meter_id, CUSTOMERS, NOW_MS - 3_600_000, NOW_MS + 3_600_000, timeout=10)


def settle(
    metering: ServiceProcess, meter_id: str, expected: int, limit_s: float = max(180.0, OUTAGE_S)
) -> Decimal:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            if total_usage(metering, meter_id) >= expected:
                break
        except grpc.RpcError:
            pass
        time.sleep(0.5)
    time.sleep(2.0)  # anything counted twice would show now
    return total_usage(metering, meter_id)


async def _dead_letters(url: str) -> dict[str, int]:
    client = await nats.connect(url)
    try:
        js = client.jetstream()
        return {
            info.config.name or "": info.state.messages
            for info in await js.streams_info()
            if (info.config.name or "").endswith("_DLQ")
        }
    finally:
        await client.close()


def dead_letters(url: str) -> dict[str, int]:
    return asyncio.run(_dead_letters(url))


def wait_for_health(service: ServiceProcess, expected: int, limit_s: float = 60) -> None:
    deadline = time.monotonic() + limit_s
    while service.health() != expected:
        assert time.monotonic() < deadline, f"{service.name} health not {expected}:\n{service.log()}"
        time.sleep(0.2)


def test_metering_database_outage_mid_stream_loses_and_dead_letters_nothing(pipeline, nats_server) -> None:
    services, meter_id = pipeline
    metering, ingestion = services["metering"], services["ingestion"]
    producer = Producer(ingestion)
    sender = threading.Thread(target=producer.run)
    sender.start()
    try:
        time.sleep(3)
        set_connections(metering.database_url, allowed=False)
        cut = time.monotonic()
        try:
            wait_for_health(metering, NOT_SERVING)
            assert metering.health(LIVENESS_SERVICE) == SERVING
            time.sleep(5)
            with pytest.raises(grpc.RpcError) as during:
                total_usage(metering, meter_id)
            assert during.value.code() == grpc.StatusCode.UNAVAILABLE
            assert during.value.details().startswith("temporarily unavailable: the database is unreachable")
            assert retry_delay_s(during.value) == 1.0
            time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - cut)))
            assert metering.process is not None and metering.process.poll() is None
            assert "metering-usage: paused, the database is unreachable" in metering.log_path.read_text()
        finally:
            set_connections(metering.database_url, allowed=True)
        time.sleep(3)
    finally:
        producer.stop.set()
        sender.join()

    assert producer.failures == []
    sent_during = sum(1 for at, _ in producer.acknowledged_batches if at >= cut)
    assert sent_during > 0  # the stream went on through the outage
    assert settle(metering, meter_id, producer.acknowledged_events) == producer.acknowledged_events
    dlq = dead_letters(nats_server.url)
    assert dlq["USAGE_DLQ"] == 0 and all(count == 0 for count in dlq.values()), dlq
    assert "resumed after" in metering.log_path.read_text()
    wait_for_health(metering, SERVING)


def test_ingest_goes_on_through_an_outage_of_its_own_database(pipeline, nats_server) -> None:
    services, meter_id = pipeline
    metering, ingestion = services["metering"], services["ingestion"]
    md = ingestion.metadata()
    with grpc.insecure_channel(ingestion.target) as channel:
        admin = ingestion_grpc.IngestionAdminServiceStub(channel)
        producer_id = admin.CreateProducer(
            ingestion_pb.CreateProducerRequest(name="api"), metadata=md
        ).producer.id
        key = admin.CreateApiKey(
            ingestion_pb.CreateApiKeyRequest(producer_id=producer_id), metadata=md
        ).secret
    producer = Producer(ingestion, key=key, bad_per_batch=1)
    sender = threading.Thread(target=producer.run)
    sender.start()
    try:
        time.sleep(3)
        set_connections(ingestion.database_url, allowed=False)
        cut = time.monotonic()
        try:
            time.sleep(INGESTION_OUTAGE_S)
            assert ingestion.health() == SERVING  # Ingest needs only the broker: it stays routable
        finally:
            set_connections(ingestion.database_url, allowed=True)
        time.sleep(5)
    finally:
        producer.stop.set()
        sender.join()

    assert producer.failures == []
    assert set(producer.answers) <= {"OK", "UNAVAILABLE"}
    during = [
        batch_id for at, batch_id in producer.acknowledged_batches if cut <= at < cut + INGESTION_OUTAGE_S
    ]
    assert len(during) > INGESTION_OUTAGE_S  # accepted all along, not only after the database came back
    assert settle(metering, meter_id, producer.acknowledged_events) == producer.acknowledged_events
    assert producer.acknowledged_events == BATCH * len(producer.acknowledged_batches)
    assert all(count == 0 for count in dead_letters(nats_server.url).values())

    # Every batch's rejected event is in the log, those of the outage too: held, then written once back.
    acknowledged = {batch_id for _, batch_id in producer.acknowledged_batches}
    assert rejected_batches(ingestion, acknowledged) == acknowledged


def rejected_batches(ingestion: ServiceProcess, expected: set[str], limit_s: float = 30) -> set[str]:
    """The batches with a rejected event in ListRejected, once they are ``expected`` (or after ``limit_s``)."""
    deadline = time.monotonic() + limit_s
    with grpc.insecure_channel(ingestion.target) as channel:
        stub = ingestion_grpc.IngestionServiceStub(channel)
        while True:
            seen: list[str] = []
            token = ""
            while True:
                page = stub.ListRejected(
                    ingestion_pb.ListRejectedRequest(
                        page=pagination_pb2.PageRequest(page_size=1000, page_token=token)
                    ),
                    metadata=ingestion.metadata(),
                    timeout=10,
                )
                seen += [record.batch_id for record in page.rejected]
                token = page.page.next_page_token
                if not token:
                    break
            assert len(seen) == len(set(seen)), "a rejected event was logged twice"
            if set(seen) == expected or time.monotonic() > deadline:
                return set(seen)
            time.sleep(1.0)
