"""A consumer whose dependency is away pauses and resumes where it stopped; only bad content is dead-lettered."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from nats.aio.client import Client as NATS

from tally.mesh import jetstream
from tally.mesh.jetstream import ConsumerSpec, Delivery, PullConsumer, StreamSpec
from tally.mesh.transient import either, peer_outage
from tally.persistence.transient import database_outage

ORDERS = StreamSpec(name="ORDERS", subjects=("orders.>",), storage="file")
TRANSIENT = either(database_outage, peer_outage)


async def eventually(predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


class Database:
    """Stands in for a handler's database: refuses connections while ``down``, records what was applied."""

    def __init__(self) -> None:
        self.down = False
        self.attempts: list[tuple[bytes, int]] = []
        self.applied: list[bytes] = []

    def apply(self, delivery: Delivery) -> None:
        self.attempts.append((delivery.data, delivery.delivery_count))
        if self.down:
            raise ConnectionRefusedError(111, "Connection refused")
        self.applied.append(delivery.data)


async def test_an_outage_longer_than_every_delivery_budget_pauses_and_dead_letters_nothing(nc: NATS) -> None:
    js = nc.jetstream()
    await jetstream.ensure_stream(js, ORDERS)
    database = Database()

    async def handle(delivery: Delivery) -> None:
        database.apply(delivery)

    # Two deliveries and a 50 ms backoff would dead-letter within a second if outages counted against them.
    spec = ConsumerSpec(stream="ORDERS", durable="billing", max_deliver=2, backoff_s=(0.05,), ack_wait_s=1.0)
    consumer = PullConsumer(
        js, spec, handle, fetch_timeout_s=0.2, transient=TRANSIENT, pause_initial_s=0.05, pause_max_s=0.2
    )
    readiness = consumer.readiness()
    await consumer.start()
    await jetstream.publish(js, "orders.created", b"order 1", "order-1")
    await eventually(lambda: len(database.attempts) == 1)
    database.down = True
    for i in range(2, 6):
        await jetstream.publish(js, "orders.created", f"order {i}".encode(), f"order-{i}")

    await eventually(lambda: len(database.attempts) >= 8)
    assert consumer.paused == "a dependency refused or dropped the connection"
    problem = await readiness()
    assert problem is not None and problem.startswith("consumer billing paused")
    # Held past several ack_waits by in-progress pings: the same first delivery of the same message,
    # retried in place, and nothing behind it fetched.
    await asyncio.sleep(2.5)
    assert {attempt for attempt in database.attempts[1:]} == {(b"order 2", 1)}

    database.down = False
    await eventually(lambda: len(database.applied) == 5)
    await consumer.stop()

    assert database.applied == [b"order 1", b"order 2", b"order 3", b"order 4", b"order 5"]
    assert consumer.paused is None
    assert await readiness() is None
    dlq = await js.stream_info("ORDERS_DLQ")
    assert dlq.state.messages == 0
    info = await js.consumer_info("ORDERS", "billing")
    assert (info.num_ack_pending, info.num_redelivered, info.ack_floor.stream_seq) == (0, 0, 5)


async def test_a_content_failure_after_an_outage_still_reaches_the_dead_letter_stream(nc: NATS) -> None:
    js = nc.jetstream()
    await jetstream.ensure_stream(js, ORDERS)
    calls: list[int] = []

    async def handle(delivery: Delivery) -> None:
        calls.append(delivery.delivery_count)
        if len(calls) <= 3:
            raise ConnectionResetError(104, "Connection reset by peer")
        raise ValueError("unknown currency XXX")

    spec = ConsumerSpec(stream="ORDERS", durable="billing", max_deliver=2, backoff_s=(0.05,))
    consumer = PullConsumer(js, spec, handle, fetch_timeout_s=0.2, transient=TRANSIENT, pause_initial_s=0.05)
    await consumer.start()
    await jetstream.publish(js, "orders.created", b"order 1", "order-1")
    await eventually(lambda: len(calls) == 5)
    await asyncio.sleep(0.3)
    await consumer.stop()

    assert calls == [1, 1, 1, 1, 2]  # three outage retries in place, then the two content deliveries
    dead = await js.get_last_msg("ORDERS_DLQ", "dlq.orders.created")
    assert dead.headers is not None
    assert dead.headers["Tally-Dlq-Reason"] == "ValueError: unknown currency XXX"


async def test_a_fetch_handled_together_waits_out_an_outage_as_one_batch(nc: NATS) -> None:
    js = nc.jetstream()
    await jetstream.ensure_stream(js, ORDERS)
    down = True
    calls: list[list[bytes]] = []

    async def together(deliveries: Sequence[Delivery]) -> list[dict[str, str]]:
        calls.append([d.data for d in deliveries])
        if down:
            raise ConnectionRefusedError(111, "Connection refused")
        return [{} for _ in deliveries]

    for i in range(4):
        await jetstream.publish(js, "orders.created", f"order {i}".encode(), f"order-{i}")
    spec = ConsumerSpec(stream="ORDERS", durable="billing", max_deliver=1)
    consumer = PullConsumer(
        js, spec, together=together, batch=10, fetch_timeout_s=0.2, transient=TRANSIENT, pause_initial_s=0.05
    )
    await consumer.start()
    await eventually(lambda: len(calls) >= 3)
    down = False
    await eventually(lambda: consumer.paused is None and len(calls) >= 4)
    await asyncio.sleep(0.3)
    await consumer.stop()

    everything = [f"order {i}".encode() for i in range(4)]
    assert all(call == everything for call in calls)  # never split one at a time, never dead-lettered
    assert (await js.stream_info("ORDERS_DLQ")).state.messages == 0
    assert (await js.consumer_info("ORDERS", "billing")).ack_floor.stream_seq == 4


async def test_stopping_while_paused_hands_the_message_back_unsettled(nc: NATS) -> None:
    js = nc.jetstream()
    await jetstream.ensure_stream(js, ORDERS)

    async def handle(delivery: Delivery) -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    spec = ConsumerSpec(stream="ORDERS", durable="billing", max_deliver=1)
    consumer = PullConsumer(js, spec, handle, fetch_timeout_s=0.2, transient=TRANSIENT, pause_initial_s=5.0)
    await consumer.start()
    await jetstream.publish(js, "orders.created", b"order 1", "order-1")
    await eventually(lambda: consumer.paused is not None)
    started = time.monotonic()
    await consumer.stop()

    assert time.monotonic() - started < 2.0  # the pause's sleep ends on stop
    info = await js.consumer_info("ORDERS", "billing")
    assert info.ack_floor.stream_seq == 0
    assert (await js.stream_info("ORDERS_DLQ")).state.messages == 0
