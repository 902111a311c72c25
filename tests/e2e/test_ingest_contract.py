"""Ingest's contract end to end (ingestion + metering, real processes): a batch is its id and its content,
and an unconfirmed batch retried with the same id and events is counted exactly once."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass

import grpc
import nats
import pytest
from test_ingest_guarantees import CUSTOMERS, NOW_MS, batch, pipeline, send, settle  # noqa: F401

from tally.api.ingestion.v1 import events_pb2
from tally.api.ingestion.v1 import ingestion_service_pb2 as ingestion_pb
from tally.api.ingestion.v1 import ingestion_service_pb2_grpc as ingestion_grpc
from tally.mesh.errors import retry_info


@pytest.fixture
def stack(request):
    """Metering and ingestion processes and a COUNT meter (test_ingest_guarantees' pipeline)."""
    return request.getfixturevalue("pipeline")


def other_events(seq: int, size: int = 100) -> ingestion_pb.IngestRequest:
    """A batch with the id of ``batch(seq)`` but events of its own."""
    return ingestion_pb.IngestRequest(
        batch_id=f"batch-{seq}",
        events=[
            events_pb2.UsageEvent(
                event_id=f"other-{seq}-{i}",
                customer=CUSTOMERS[i % len(CUSTOMERS)],
                event_type="api_call",
                timestamp_ms=NOW_MS - 30_000 + i,
            )
            for i in range(size)
        ],
    )


async def _usage_stream(url: str, duplicate_window_s: float | None = None) -> int:
    """Messages in the USAGE stream, after setting its duplicate window when given."""
    client = await nats.connect(url)
    try:
        js = client.jetstream()
        info = await js.stream_info("USAGE")
        if duplicate_window_s is not None:
            info.config.duplicate_window = duplicate_window_s
            await js.update_stream(info.config)
        return int(info.state.messages)
    finally:
        await client.close()


def test_a_reused_batch_id_counts_every_acknowledged_event_inside_and_after_the_duplicate_window(
    stack, nats_server
):
    services, meter_id = stack
    ingestion = services["ingestion"]
    # Inside the 2-minute window: same id + other events is stored in full; same id + same events once.
    assert send(ingestion, batch(1, size=100)) == 100
    assert send(ingestion, other_events(1)) == 100
    assert send(ingestion, batch(1, size=100)) == 100
    assert send(ingestion, other_events(1)) == 100
    assert settle(services["metering"], meter_id, 200) == 200

    # After the window (shortened to 1 s): JetStream no longer drops the retry, metering counts it once.
    asyncio.run(_usage_stream(nats_server.url, duplicate_window_s=1.0))
    assert send(ingestion, batch(2, size=100)) == 100
    time.sleep(1.5)
    stored = asyncio.run(_usage_stream(nats_server.url))
    assert send(ingestion, batch(2, size=100)) == 100
    assert asyncio.run(_usage_stream(nats_server.url)) > stored  # the retry was stored again
    assert send(ingestion, other_events(2)) == 100
    time.sleep(1.5)
    assert send(ingestion, other_events(2)) == 100
    assert send(ingestion, batch(2, size=100)) == 100
    assert settle(services["metering"], meter_id, 400) == 400


@dataclass
class Call:
    seq: int
    started: float
    ended: float
    code: grpc.StatusCode
    retry_after_s: float | None = None
    details: str = ""


@pytest.mark.slow
def test_nats_down_for_10_s_answers_ok_or_unavailable_with_retry_info_and_retries_count_exactly_once(
    stack, nats_server
):
    services, meter_id = stack
    ingestion = services["ingestion"]
    calls: list[Call] = []
    stop = threading.Event()
    lock = threading.Lock()
    sequence = iter(range(10_000))

    def client() -> None:
        # A client that never retries: one call per batch, whatever the answer.
        with grpc.insecure_channel(ingestion.target) as channel:
            stub = ingestion_grpc.IngestionServiceStub(channel)
            while not stop.is_set():
                with lock:
                    seq = next(sequence)
                started = time.monotonic()
                try:
                    stub.Ingest(batch(seq, size=100), metadata=ingestion.metadata(), timeout=15)
                    call = Call(seq, started, time.monotonic(), grpc.StatusCode.OK)
                except grpc.RpcError as error:
                    info = retry_info(error)
                    call = Call(
                        seq,
                        started,
                        time.monotonic(),
                        error.code(),
                        None if info is None else info.retry_delay.ToTimedelta().total_seconds(),
                        error.details() or "",
                    )
                with lock:
                    calls.append(call)
                time.sleep(0.1)

    senders = [threading.Thread(target=client) for _ in range(3)]
    for sender in senders:
        sender.start()
    time.sleep(2.0)
    down_at = time.monotonic()
    nats_server.stop()
    time.sleep(10.0)
    nats_server.start()
    up_at = time.monotonic()
    time.sleep(8.0)
    stop.set()
    for sender in senders:
        sender.join(timeout=30)

    ok = sorted(c.seq for c in calls if c.code == grpc.StatusCode.OK)
    unavailable = sorted(c.seq for c in calls if c.code == grpc.StatusCode.UNAVAILABLE)
    print(f"OK: {ok}\nUNAVAILABLE: {unavailable}")
    # Every call is answered OK or UNAVAILABLE, nothing else; each UNAVAILABLE carries RetryInfo (1 s)
    # and says the outcome is unknown and to retry the same batch_id with the same events.
    assert sorted(ok + unavailable) == sorted(c.seq for c in calls)
    for call in calls:
        if call.code == grpc.StatusCode.UNAVAILABLE:
            assert call.retry_after_s == 1.0
            assert "outcome is unknown" in call.details
            assert "same batch_id and the same events" in call.details
    # Exactly: answered before the broker stopped -> OK; started and answered while it was down -> UNAVAILABLE.
    before = [c for c in calls if c.ended < down_at]
    during = [c for c in calls if c.started > down_at + 0.1 and c.ended < up_at]
    assert before and all(c.code == grpc.StatusCode.OK for c in before)
    assert during and all(c.code == grpc.StatusCode.UNAVAILABLE for c in during)
    assert any(c.code == grpc.StatusCode.OK and c.started > up_at for c in calls)

    # Retrying only the UNAVAILABLE batches, with their own ids and events, counts every event once.
    for seq in unavailable:
        assert send(ingestion, batch(seq, size=100)) == 100
    expected = 100 * len(calls)
    assert settle(services["metering"], meter_id, expected, limit_s=90) == expected
