"""A producer over its rate limit is refused whole batches with RESOURCE_EXHAUSTED and a RetryInfo; what it
was told was accepted is all counted, and the refused batches, resent when told, are counted once."""

from __future__ import annotations

import time
from decimal import Decimal

import grpc
import pytest

from tally.api.common.v1 import period_pb2
from tally.api.ingestion.v1 import events_pb2
from tally.api.ingestion.v1 import ingestion_service_pb2 as ing
from tally.api.ingestion.v1 import ingestion_service_pb2_grpc as ing_grpc
from tally.api.metering.v1 import metering_service_pb2 as met
from tally.api.metering.v1 import metering_service_pb2_grpc as met_grpc
from tally.mesh.errors import retry_delay_s
from tally.testing.databases import sqlite_url
from tally.testing.services import ServiceProcess

NOW_MS = int(time.time() * 1000)
BATCH = 100


def batch(seq: int) -> ing.IngestRequest:
    return ing.IngestRequest(
        batch_id=f"b-{seq}",
        events=[
            events_pb2.UsageEvent(
                event_id=f"{seq}-{i}",
                customer="acme",
                event_type="api_call",
                timestamp_ms=NOW_MS - 1000,
                properties={"tokens": "3"},
            )
            for i in range(BATCH)
        ],
    )


@pytest.fixture
def pipeline(tmp_path, nats_server):
    metering = ServiceProcess(
        "metering", "tally.metering", sqlite_url(tmp_path / "m"), nats_server.url, tmp_path / "metering"
    )
    ingestion = ServiceProcess(
        "ingestion",
        "tally.ingestion",
        sqlite_url(tmp_path / "i"),
        nats_server.url,
        tmp_path / "ingestion",
        # 300 events at once, then 200 a second; at most 4 batches at once, then 20 a second.
        env={
            "TALLY_INGEST_PRODUCER_EVENTS_PER_SECOND": "200",
            "TALLY_INGEST_PRODUCER_EVENT_BURST": "300",
            "TALLY_INGEST_PRODUCER_BATCHES_PER_SECOND": "20",
            "TALLY_INGEST_PRODUCER_BATCH_BURST": "4",
        },
    )
    for service in (metering, ingestion):
        service.start()
    yield metering, ingestion
    for service in (ingestion, metering):
        service.kill()


def usage(metering: ServiceProcess, meter_id: str) -> Decimal:
    period = period_pb2.Period()
    period.start.FromMilliseconds(NOW_MS - 3_600_000)
    period.end.FromMilliseconds(NOW_MS + 3_600_000)
    with grpc.insecure_channel(metering.target) as channel:
        reply = met_grpc.MeteringServiceStub(channel).GetUsage(
            met.GetUsageRequest(customer="acme", meter_id=meter_id, period=period),
            metadata=metering.metadata(),
            timeout=10,
        )
    return sum((Decimal(b.quantity) for b in reply.buckets), Decimal(0))


@pytest.mark.slow
def test_a_rate_limited_producer_is_told_when_to_retry_and_loses_nothing_it_was_told_was_accepted(pipeline):
    metering, ingestion = pipeline
    with grpc.insecure_channel(metering.target) as channel:
        meter_id = (
            met_grpc.MeteringServiceStub(channel)
            .CreateMeter(
                met.CreateMeterRequest(
                    meter=met.Meter(
                        key="tokens",
                        name="Tokens",
                        event_type="api_call",
                        aggregation=met.AGGREGATION_SUM,
                        value_property="tokens",
                    )
                ),
                metadata=metering.metadata(),
            )
            .meter.id
        )
    with grpc.insecure_channel(ingestion.target) as channel:
        admin = ing_grpc.IngestionAdminServiceStub(channel)
        producer = admin.CreateProducer(
            ing.CreateProducerRequest(name="checkout"), metadata=ingestion.metadata()
        )
        key = admin.CreateApiKey(
            ing.CreateApiKeyRequest(producer_id=producer.producer.id), metadata=ingestion.metadata()
        ).secret
        stub = ing_grpc.IngestionServiceStub(channel)
        accepted, refused = 0, []
        for seq in range(10):  # as fast as it can: 1,000 events against a burst of 300
            try:
                accepted += stub.Ingest(
                    batch(seq), metadata=ingestion.metadata(key), timeout=10
                ).accepted_count
            except grpc.RpcError as error:
                assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error.details()
                assert "nothing of this batch was accepted" in error.details()
                delay = retry_delay_s(error)
                assert delay is not None and 0 < delay <= 1.0
                refused.append((seq, delay))
        assert 3 <= accepted // BATCH < 10
        assert len(refused) == 10 - accepted // BATCH

        deadline = time.monotonic() + 30
        while usage(metering, meter_id) < accepted * 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(0.5)
        assert (
            usage(metering, meter_id) == accepted * 3
        )  # exactly what it was told: nothing of a refused batch

        for seq, _ in refused:  # a well-behaved producer: wait as told, resend the same batch
            while True:
                try:
                    stub.Ingest(batch(seq), metadata=ingestion.metadata(key), timeout=10)
                    break
                except grpc.RpcError as error:
                    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                    time.sleep(retry_delay_s(error) or 1.0)
    # A producer key reads no usage at all, its own customers' or another producer's: metering refuses it.
    with grpc.insecure_channel(metering.target) as channel, pytest.raises(grpc.RpcError) as refused:
        met_grpc.MeteringServiceStub(channel).GetUsage(
            met.GetUsageRequest(customer="acme", meter_id=meter_id),
            metadata=ingestion.metadata(key),
            timeout=10,
        )
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    deadline = time.monotonic() + 30
    while usage(metering, meter_id) < 3000 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    assert usage(metering, meter_id) == Decimal(3000)
