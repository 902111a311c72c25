"""`tally dlq list|replay`: what reached a dead-letter stream is listed, and replayed under its original id."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

from nats.aio.client import Client as NATS

from tally.mesh import jetstream
from tally.mesh.jetstream import ConsumerSpec, Delivery, PullConsumer, StreamSpec
from tally.testing.nats_server import NatsServer

# A short duplicate window, so the test can replay once the broker has forgotten the original id.
ORDERS = StreamSpec(name="ORDERS", subjects=("orders.>",), storage="file", duplicate_window_s=1.0)


def tally(nats_server: NatsServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tally.cli", "dlq", *args, "--nats-url", nats_server.url],
        capture_output=True,
        text=True,
        timeout=60,
    )


async def eventually(predicate, timeout_s: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_a_dead_letter_is_listed_and_replayed_to_its_subject_under_its_original_id(
    nc: NATS, nats_server: NatsServer
) -> None:
    js = nc.jetstream()
    await jetstream.ensure_stream(js, ORDERS)
    fixed = False
    applied: list[Delivery] = []

    async def handle(delivery: Delivery) -> None:
        if not fixed:
            raise ValueError("unknown plan pro-2027")
        applied.append(delivery)

    spec = ConsumerSpec(stream="ORDERS", durable="billing", max_deliver=1)
    consumer = PullConsumer(js, spec, handle, fetch_timeout_s=0.2)
    await consumer.start()
    await jetstream.publish(js, "orders.created", b"order 1", "order-1", headers={"Tenant": "acme"})
    deadline = time.monotonic() + 10
    while (await js.stream_info("ORDERS_DLQ")).state.messages == 0:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)

    listed = await asyncio.to_thread(tally, nats_server, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    (letter,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (letter["stream"], letter["sequence"], letter["subject"]) == ("ORDERS_DLQ", 1, "orders.created")
    assert (letter["msg_id"], letter["consumer"]) == ("order-1", "billing")
    assert letter["reason"] == "ValueError: unknown plan pro-2027"
    assert letter["headers"]["Tenant"] == "acme"
    text = await asyncio.to_thread(tally, nats_server, "list")
    assert "ORDERS_DLQ #1  orders.created  id=order-1  consumer=billing" in text.stdout
    assert text.stdout.rstrip().endswith("1 dead-lettered message(s) in ORDERS_DLQ")

    fixed = True
    await asyncio.sleep(1.5)  # past the duplicate window of ORDERS
    replayed = await asyncio.to_thread(
        tally, nats_server, "replay", "--stream", "ORDERS_DLQ", "--sequence", "1"
    )
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert replayed.stdout.strip() == "ORDERS_DLQ #1: replayed to orders.created as order-1"
    await eventually(lambda: len(applied) == 1)
    await consumer.stop()

    (delivery,) = applied
    assert (delivery.subject, delivery.msg_id, delivery.data) == ("orders.created", "order-1", b"order 1")
    assert delivery.headers["Tenant"] == "acme"
    assert not any(name.startswith("Tally-Dlq") for name in delivery.headers)
    assert (await js.stream_info("ORDERS_DLQ")).state.messages == 0


async def test_a_replay_inside_the_duplicate_window_is_refused_and_left_in_place(
    nc: NATS, nats_server: NatsServer
) -> None:
    js = nc.jetstream()
    await jetstream.ensure_stream(
        js, StreamSpec(name="ORDERS", subjects=("orders.>",), duplicate_window_s=120)
    )

    async def handle(delivery: Delivery) -> None:
        raise ValueError("unknown plan pro-2027")

    consumer = PullConsumer(js, ConsumerSpec(stream="ORDERS", durable="billing", max_deliver=1), handle)
    await consumer.start()
    await jetstream.publish(js, "orders.created", b"order 1", "order-1")
    deadline = time.monotonic() + 10
    while (await js.stream_info("ORDERS_DLQ")).state.messages == 0:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    await consumer.stop()

    replayed = await asyncio.to_thread(tally, nats_server, "replay", "--all")
    assert replayed.returncode == 1
    assert "the broker still remembers id order-1" in replayed.stdout
    assert (await js.stream_info("ORDERS_DLQ")).state.messages == 1
    assert (await js.stream_info("ORDERS")).state.messages == 1

    refused = await asyncio.to_thread(tally, nats_server, "replay")
    assert refused.returncode == 1
    assert "say what to replay" in refused.stderr
