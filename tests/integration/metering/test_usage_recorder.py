"""The usage consumer's writer: fetches prepared while it was busy commit together, and fail apart."""

import asyncio
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

import tally.metering
from tally.api.ingestion.v1 import events_pb2
from tally.mesh.jetstream import Delivery
from tally.metering.aggregation import HOUR_MS
from tally.metering.domain import Aggregation, MeterDefinition
from tally.metering.handlers import UsageRecorder
from tally.metering.recording.usage_recording import UsageRecording
from tally.metering.recording.writers import usage_writer
from tally.metering.store import MeterStore, events, rollups
from tally.persistence.engine import create_engine
from tally.persistence.migrations import upgrade

MIGRATIONS = Path(tally.metering.__file__).resolve().parents[3] / "migrations"
T0 = 1_780_000_000_000 - 1_780_000_000_000 % HOUR_MS


@pytest.fixture
def engine(database_url):
    engine = create_engine(database_url)
    upgrade(engine, MIGRATIONS)
    MeterStore(engine).create(
        "m-requests",
        MeterDefinition("requests", "requests", "request", Aggregation.COUNT),
        datetime.now(UTC),
    )
    yield engine
    engine.dispose()


def delivery(batch_id: str, *event_ids: str) -> Delivery:
    batch = events_pb2.UsageBatchAccepted(
        batch_id=batch_id,
        producer_id="p1",
        received_at_ms=T0,
        events=[
            events_pb2.UsageEvent(event_id=e, customer="acme", event_type="request", timestamp_ms=T0 + 1)
            for e in event_ids
        ],
    )
    return Delivery("tally.usage.batch.0", batch.SerializeToString(), {}, f"p1/{batch_id}", 1, 1)


def stored(engine) -> tuple[list[str], int]:
    with engine.connect() as conn:
        ids = sorted(conn.execute(select(events.c.event_id)).scalars())
        counted = conn.execute(select(func.coalesce(func.sum(rollups.c.count), 0))).scalar_one()
    return ids, counted


async def hold_writer(recorder: UsageRecorder, expected_waiting: int, handles: list) -> list:
    """Keep the writer busy until ``expected_waiting`` fetches are prepared and queued, then let it go."""
    release = threading.Event()
    recorder._writer.submit(release.wait)  # the writer is one thread: nothing is written until released
    tasks = [asyncio.ensure_future(handle) for handle in handles]
    for _ in range(500):
        if len(recorder._waiting) == expected_waiting:
            break
        await asyncio.sleep(0.01)
    assert len(recorder._waiting) == expected_waiting
    release.set()
    return await asyncio.gather(*tasks, return_exceptions=True)


async def test_fetches_queued_behind_a_busy_writer_commit_together_and_each_gets_its_outcome(engine):
    recording = UsageRecording(usage_writer(engine, keep_connection=True))
    recorder = UsageRecorder(recording)
    try:
        results = await hold_writer(
            recorder,
            3,
            [
                recorder.handle([delivery("b1", "e1", "e2")]),
                recorder.handle([delivery("b2", "e2", "e3"), delivery("b3", "e4")]),
                recorder.handle([delivery("b4", "e1", "e5")]),
            ],
        )
    finally:
        await asyncio.to_thread(recorder.close)
    inserted = [[attributes["tally.events.inserted"] for attributes in result] for result in results]
    duplicates = [[attributes["tally.events.duplicate"] for attributes in result] for result in results]
    assert inserted == [[2], [1, 1], [1]]
    assert duplicates == [[0], [1, 0], [1]]
    assert stored(engine) == (["e1", "e2", "e3", "e4", "e5"], 5)


@pytest.mark.postgres
async def test_a_fetch_that_cannot_be_written_fails_alone(postgres_url):
    engine = create_engine(postgres_url)
    upgrade(engine, MIGRATIONS)
    MeterStore(engine).create(
        "m-requests", MeterDefinition("requests", "requests", "request", Aggregation.COUNT), datetime.now(UTC)
    )
    recorder = UsageRecorder(UsageRecording(usage_writer(engine)))
    try:
        # PostgreSQL text cannot hold NUL: this fetch fails in the database (ingestion refuses such ids first;
        # an event with one is quarantined, but a batch id with one fails its whole message).
        good, bad, other = await hold_writer(
            recorder,
            3,
            [
                recorder.handle([delivery("b1", "e1", "e2")]),
                recorder.handle([delivery("b2\x00", "e3")]),
                recorder.handle([delivery("b3", "e4")]),
            ],
        )
        assert isinstance(bad, Exception)
        assert [a["tally.events.inserted"] for a in good] == [2]
        assert [a["tally.events.inserted"] for a in other] == [1]
        assert stored(engine) == (["e1", "e2", "e4"], 3)
    finally:
        await asyncio.to_thread(recorder.close)
        engine.dispose()


async def test_an_event_set_aside_is_counted_once_in_the_quarantine_metric_and_its_batch_commits(engine):
    from tally.mesh import telemetry

    handle = telemetry.configure("metering", "none", metrics="memory")
    batch = events_pb2.UsageBatchAccepted(
        batch_id="b1",
        producer_id="p1",
        received_at_ms=T0,
        events=[
            events_pb2.UsageEvent(event_id="ok", customer="acme", event_type="request", timestamp_ms=T0 + 1),
            events_pb2.UsageEvent(
                event_id="huge",
                customer="acme",
                event_type="request",
                timestamp_ms=T0 + 2,
                properties={"v": "1e99999"},
            ),
        ],
    )
    message = Delivery("tally.usage.batch.0", batch.SerializeToString(), {}, "p1/b1", 1, 1)
    recorder = UsageRecorder(UsageRecording(usage_writer(engine)))
    try:
        first = await recorder.handle([message])
        again = await recorder.handle([message])  # redelivered: nothing is set aside twice
    finally:
        await asyncio.to_thread(recorder.close)
    assert [(a["tally.events.inserted"], a["tally.events.quarantined"]) for a in first + again] == [
        (1, 1),
        (0, 0),
    ]
    assert stored(engine) == (["ok"], 1)
    data = handle.metrics_data()
    assert data is not None
    counted = [
        (dict(point.attributes), point.value)
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "tally.events.quarantined"
        for point in metric.data.data_points
    ]
    assert counted == [({"tally.producer": "p1"}, 1)]
    handle.shutdown()
