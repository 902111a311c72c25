"""Streams as deployed: interest retention frees what consumers acked, sizes fit the store or the start fails,
a full stream refuses publishes without dropping anything, and a retention the broker cannot change is named."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import nats.js.errors
import pytest
from nats.aio.client import Client as NATS
from nats.js import api

from tally.api.ingestion.v1 import events_pb2
from tally.cli.streams import MigrationRefused, migrate
from tally.domain.errors import Unavailable
from tally.ingestion.publisher import BatchPublisher
from tally.mesh import jetstream, streams
from tally.mesh.jetstream import StreamCapacityError, StreamMigrationNeeded
from tally.mesh.settings import MeshSettings, load
from tally.testing.nats_server import NatsServer

MiB = 1024 * 1024


def mesh(**env: str) -> MeshSettings:
    return load(
        MeshSettings,
        {
            "TALLY_DATABASE_URL": "sqlite://",
            "TALLY_NATS_URL": "x",
            "TALLY_KEYRING": "k",
            "TALLY_SERVICE_TOKEN": "t",
        }
        | env,
    )


@pytest.fixture
def small_store(tmp_path: Path) -> NatsServer:
    server = NatsServer(tmp_path / "nats", max_file_store="16MB")
    server.start()
    yield server
    server.kill()


@pytest.fixture
async def small_nc(small_store: NatsServer) -> AsyncIterator[NATS]:
    client = await jetstream.connect(small_store.url, name="test")
    yield client
    await client.close()


async def state(nc: NATS, name: str) -> tuple[int, int]:
    info = await nc.jetstream().stream_info(name)
    return info.state.messages, info.state.bytes


async def test_usage_keeps_a_batch_only_until_every_consumer_acked_it(nc: NATS) -> None:
    js = nc.jetstream()
    settings = mesh(TALLY_USAGE_STREAM_MAX_BYTES="4MB")
    await jetstream.ensure_stream(js, streams.sized(streams.USAGE, settings))
    info = await js.stream_info("USAGE")
    assert info.config.retention == api.RetentionPolicy.INTEREST
    assert info.config.discard == api.DiscardPolicy.NEW
    assert (info.config.max_bytes, info.config.num_replicas) == (4 * MiB, 1)
    assert (await js.stream_info("USAGE_DLQ")).config.retention == api.RetentionPolicy.LIMITS

    # Metering's durable is declared with the stream: batches published before metering ever ran are kept.
    for i in range(10):
        await jetstream.publish(js, streams.usage_batch_subject(i % 3), b"batch", f"b{i}")
    assert (await state(nc, "USAGE"))[0] == 10

    sub = await js.pull_subscribe_bind(durable=streams.METERING_USAGE.durable, stream="USAGE")
    for msg in await sub.fetch(6, timeout=2):
        await msg.ack_sync()
    assert (await state(nc, "USAGE"))[0] == 4
    for msg in await sub.fetch(4, timeout=2):
        await msg.ack_sync()
    assert await state(nc, "USAGE") == (0, 0)


async def test_a_second_consumer_holds_batches_until_it_acked_them_too(nc: NATS) -> None:
    js = nc.jetstream()
    await jetstream.ensure_stream(js, streams.sized(streams.USAGE, mesh()))
    insights = jetstream.ConsumerSpec(
        stream="USAGE", durable="insights", filter_subject="tally.usage.batches.>"
    )
    await jetstream.ensure_consumer(js, insights)
    await jetstream.publish(js, streams.usage_batch_subject(0), b"batch", "b0")
    metering = await js.pull_subscribe_bind(durable=streams.METERING_USAGE.durable, stream="USAGE")
    (msg,) = await metering.fetch(1, timeout=2)
    await msg.ack_sync()
    assert (await state(nc, "USAGE"))[0] == 1
    other = await js.pull_subscribe_bind(durable="insights", stream="USAGE")
    (msg,) = await other.fetch(1, timeout=2)
    await msg.ack_sync()
    assert (await state(nc, "USAGE"))[0] == 0


async def test_a_full_stream_refuses_the_publish_and_keeps_what_it_holds(small_nc: NATS) -> None:
    js = small_nc.jetstream()
    await jetstream.ensure_stream(js, streams.sized(streams.USAGE, mesh(TALLY_USAGE_STREAM_MAX_BYTES="1MB")))
    stored = 0
    with pytest.raises(nats.js.errors.APIError) as refused:
        for i in range(2_000):
            await jetstream.publish(js, streams.usage_batch_subject(0), b"x" * 10_000, f"b{i}")
            stored += 1
    assert refused.value.err_code == 10077, refused.value
    assert 90 <= stored < 105
    assert (await state(small_nc, "USAGE"))[0] == stored


async def test_a_start_is_refused_when_the_streams_cannot_fit_the_store(small_nc: NATS) -> None:
    js = small_nc.jetstream()
    # Told the store size: refused before anything is declared, naming what to change.
    too_big = mesh(TALLY_USAGE_STREAM_MAX_BYTES="12MB", TALLY_JETSTREAM_STORE_BYTES="16MB")
    with pytest.raises(StreamCapacityError) as told:
        await streams.check_capacity(js, too_big)
    assert "TALLY_USAGE_STREAM_MAX_BYTES" in str(
        told.value
    ) and "TALLY_JETSTREAM_STORE_BYTES is 16777216" in str(told.value)
    # Not told: the broker refuses the stream it has no room for, and the error says why.
    with pytest.raises(StreamCapacityError, match="JetStream has no room for stream USAGE"):
        await jetstream.ensure_stream(
            js, streams.sized(streams.USAGE, mesh(TALLY_USAGE_STREAM_MAX_BYTES="20MB"))
        )

    # The defaults for a small store fit, with every stream declared at its full size.
    fits = mesh(
        TALLY_USAGE_STREAM_MAX_BYTES="8MB",
        TALLY_EVENT_STREAM_MAX_BYTES="512KB",
        TALLY_JETSTREAM_STORE_BYTES="16MB",
    )
    await streams.check_capacity(js, fits)
    for _ in range(2):  # every service declares them again at its start, with less room left each time
        for spec in streams.EVERY:
            await jetstream.ensure_stream(js, streams.sized(spec, fits))


async def test_limits_to_interest_changes_in_place_without_dropping_unacked_batches(nc: NATS) -> None:
    js = nc.jetstream()
    old = dataclasses.replace(streams.USAGE, retention="limits", consumers=())
    await jetstream.ensure_stream(js, old)
    await jetstream.ensure_consumer(js, streams.METERING_USAGE)
    for i in range(3):
        await jetstream.publish(js, streams.usage_batch_subject(0), b"batch", f"b{i}")
    await jetstream.ensure_stream(js, streams.sized(streams.USAGE, mesh()))
    assert (await js.stream_info("USAGE")).config.retention == api.RetentionPolicy.INTEREST
    assert (await state(nc, "USAGE"))[0] == 3


async def test_a_retention_the_broker_cannot_change_refuses_the_start_with_the_procedure(nc: NATS) -> None:
    js = nc.jetstream()
    await jetstream.ensure_stream(js, dataclasses.replace(streams.USAGE, retention="workqueue", consumers=()))
    with pytest.raises(StreamMigrationNeeded) as refused:
        await jetstream.ensure_stream(js, streams.sized(streams.USAGE, mesh()))
    message = str(refused.value)
    assert "stream USAGE has workqueue retention but is declared with interest" in message
    assert "tally streams migrate USAGE" in message


async def test_replicas_come_from_the_setting(nc: NATS) -> None:
    spec = streams.sized(
        streams.METERING, mesh(TALLY_STREAM_REPLICAS="3", TALLY_EVENT_STREAM_MAX_BYTES="64MB")
    )
    assert (spec.replicas, spec.max_bytes, spec.dlq_max_bytes, spec.retention) == (
        3,
        64 * MiB,
        8 * MiB,
        "limits",
    )
    # A single server cannot keep three copies: the broker says so rather than silently keeping one.
    with pytest.raises(nats.js.errors.APIError):
        await asyncio.wait_for(jetstream.ensure_stream(nc.jetstream(), spec), 10)


async def test_migrate_removes_a_stream_only_once_drained_and_quiet_then_the_new_declaration_applies(
    nc: NATS,
) -> None:
    js = nc.jetstream()
    old = dataclasses.replace(streams.USAGE, retention="workqueue", consumers=(streams.METERING_USAGE,))
    await jetstream.ensure_stream(js, old)
    for i in range(3):
        await jetstream.publish(js, streams.usage_batch_subject(0), b"batch", f"b{i}")
    with pytest.raises(
        MigrationRefused, match=r"not drained after 0.2s: metering-usage \(3 pending, 0 unacked\)"
    ):
        await migrate(js, "USAGE", wait_s=0.2, quiet_s=0.1)
    assert (await state(nc, "USAGE"))[0] == 3

    sub = await js.pull_subscribe_bind(durable=streams.METERING_USAGE.durable, stream="USAGE")
    for msg in await sub.fetch(3, timeout=2):
        await msg.ack_sync()

    async def late_publisher() -> None:
        await asyncio.sleep(0.1)
        # A publisher still at work.
        await jetstream.publish(js, streams.usage_batch_subject(1), b"batch", "late")

    publishing = asyncio.create_task(late_publisher())
    with pytest.raises(MigrationRefused, match="still being published to"):
        await migrate(js, "USAGE", wait_s=1, quiet_s=0.5)
    await publishing
    for msg in await sub.fetch(1, timeout=2):
        await msg.ack_sync()

    drained = await migrate(js, "USAGE", wait_s=1, quiet_s=0.2)
    assert drained.consumers == ("metering-usage",)
    await jetstream.ensure_stream(js, streams.sized(streams.USAGE, mesh()))
    assert (await js.stream_info("USAGE")).config.retention == api.RetentionPolicy.INTEREST
    assert [c.name for c in await js.consumers_info("USAGE")] == ["metering-usage"]


async def test_ingestion_answers_unavailable_with_a_retry_hint_when_usage_is_full_and_accepts_once_freed(
    small_nc: NATS,
) -> None:
    js = small_nc.jetstream()
    await jetstream.ensure_stream(js, streams.sized(streams.USAGE, mesh(TALLY_USAGE_STREAM_MAX_BYTES="1MB")))
    publisher = BatchPublisher(js, timeout_s=5, full_retry_s=3)
    batches = 0
    with pytest.raises(Unavailable) as full:
        for batches in range(1, 2_000):
            events = [
                events_pb2.UsageEvent(
                    event_id=f"{batches}-{i}",
                    customer="acme",
                    event_type="api_call",
                    timestamp_ms=1,
                    properties={"p": "x" * 900},
                )
                for i in range(10)
            ]
            await publisher.publish("p1", f"b{batches}", 1, False, events)
    assert full.value.retry_after_s == 3
    assert f"the event store is full (consumers are behind): batch 'b{batches}' is not acknowledged" in str(
        full.value
    )
    stored = (await state(small_nc, "USAGE"))[0]
    assert stored >= batches - 1

    metering = await js.pull_subscribe_bind(durable=streams.METERING_USAGE.durable, stream="USAGE")
    for msg in await metering.fetch(stored, timeout=5):
        await msg.ack_sync()
    await publisher.publish("p1", f"b{batches}", 1, False, events)  # the refused batch, retried, goes in
    assert (await state(small_nc, "USAGE"))[0] == 1
