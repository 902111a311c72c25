"""JetStream helpers against a real nats-server: dedup, tracing, redelivery, dead-letter, restarts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from nats.aio.client import Client as NATS
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from tally.mesh import jetstream, streams
from tally.mesh.jetstream import ConsumerSpec, Delivery, PullConsumer, StreamSpec
from tally.testing.nats_server import NatsServer

ORDERS = StreamSpec(name="ORDERS", subjects=("orders.>",), storage="file")


async def eventually(predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def test_republishing_a_msg_id_stores_it_once(nc: NATS) -> None:
    js = nc.jetstream()
    await jetstream.ensure_stream(js, ORDERS)
    await jetstream.ensure_stream(js, ORDERS)  # idempotent on every start

    first = await jetstream.publish(js, "orders.created", b"order 1", "order-1")
    again = await jetstream.publish(js, "orders.created", b"order 1", "order-1")

    assert not first.duplicate
    assert again.duplicate is True
    assert again.seq == first.seq
    assert (await js.stream_info("ORDERS")).state.messages == 1
    assert (await js.stream_info("ORDERS_DLQ")).config.subjects == ["dlq.orders.>"]


async def test_ensure_stream_updates_a_changed_declaration(nc: NATS) -> None:
    js = nc.jetstream()
    await jetstream.ensure_stream(js, ORDERS)
    await jetstream.ensure_stream(js, StreamSpec(name="ORDERS", subjects=("orders.>",), duplicate_window_s=5))

    assert (await js.stream_info("ORDERS")).config.duplicate_window == 5


async def test_business_events_are_kept_90_days_and_usage_batches_a_week(nc: NATS) -> None:
    js = nc.jetstream()
    for spec in streams.ALL:
        await jetstream.ensure_stream(js, spec)
    kept = {spec.name: (await js.stream_info(spec.name)).config.max_age for spec in streams.ALL}
    assert kept == {
        "USAGE": 7 * 86400,
        "METERING": 90 * 86400,
        "CATALOG": 90 * 86400,
        "QUOTING": 90 * 86400,
        "INVOICING": 90 * 86400,
        "ERP": 90 * 86400,
    }


async def test_a_message_above_the_limit_is_refused_with_a_clear_error(nc: NATS) -> None:
    js = nc.jetstream()
    await jetstream.ensure_stream(js, ORDERS)

    with pytest.raises(jetstream.PayloadTooLarge, match="split it into chunks"):
        await jetstream.publish(js, "orders.created", b"x" * jetstream.DEFAULT_MAX_PAYLOAD, "big")
    assert (await js.stream_info("ORDERS")).state.messages == 0


async def test_consumer_span_continues_the_producer_trace(nc: NATS, spans: InMemorySpanExporter) -> None:
    js = nc.jetstream()
    await jetstream.ensure_stream(js, ORDERS)
    received: list[Delivery] = []

    async def handle(delivery: Delivery) -> None:
        received.append(delivery)

    consumer = PullConsumer(js, ConsumerSpec(stream="ORDERS", durable="billing"), handle)
    await consumer.start()
    with trace.get_tracer("test").start_as_current_span("accept order"):
        await jetstream.publish(js, "orders.created", b"order 1", "order-1")
    await eventually(lambda: len(received) == 1)
    await consumer.stop()

    finished = spans.get_finished_spans()
    producer = next(s for s in finished if s.name == "orders.created publish")
    consumer_span = next(s for s in finished if s.name == "orders.created process")
    assert producer.kind is SpanKind.PRODUCER
    assert consumer_span.kind is SpanKind.CONSUMER
    assert consumer_span.context.trace_id == producer.context.trace_id
    assert consumer_span.parent is not None
    assert consumer_span.parent.span_id == producer.context.span_id
    assert [link.context.span_id for link in consumer_span.links] == [producer.context.span_id]
    assert consumer_span.attributes is not None
    assert consumer_span.attributes["messaging.message.id"] == "order-1"
    assert consumer_span.attributes["messaging.consumer.group.name"] == "billing"
    assert received[0].msg_id == "order-1"
    assert received[0].data == b"order 1"
    assert received[0].delivery_count == 1
    assert received[0].stream_sequence == 1


async def test_a_failed_message_is_redelivered_after_the_nak_delay_then_acked(nc: NATS) -> None:
    js = nc.jetstream()
    await jetstream.ensure_stream(js, ORDERS)
    deliveries: list[int] = []

    async def handle(delivery: Delivery) -> None:
        deliveries.append(delivery.delivery_count)
        if delivery.delivery_count == 1:
            raise ValueError("customer not projected yet")

    spec = ConsumerSpec(stream="ORDERS", durable="billing", backoff_s=(0.2,), ack_wait_s=5)
    consumer = PullConsumer(js, spec, handle, fetch_timeout_s=0.2)
    await consumer.start()
    started = time.monotonic()
    await jetstream.publish(js, "orders.created", b"order 1", "order-1")
    await eventually(lambda: deliveries == [1, 2])
    redelivered_after = time.monotonic() - started
    await asyncio.sleep(0.5)
    await consumer.stop()

    assert deliveries == [1, 2]
    assert 0.2 <= redelivered_after < 4  # the nak delay, not ack_wait, set the pace
    info = await js.consumer_info("ORDERS", "billing")
    assert info.num_ack_pending == 0
    assert info.ack_floor.stream_seq == 1


async def test_a_message_that_always_fails_lands_on_the_dead_letter_stream(nc: NATS) -> None:
    js = nc.jetstream()
    await jetstream.ensure_stream(js, ORDERS)
    deliveries: list[int] = []

    async def handle(delivery: Delivery) -> None:
        deliveries.append(delivery.delivery_count)
        raise ValueError("unknown customer\ncus_42")

    spec = ConsumerSpec(stream="ORDERS", durable="billing", max_deliver=3, backoff_s=(0.05, 0.1))
    consumer = PullConsumer(js, spec, handle, fetch_timeout_s=0.2)
    await consumer.start()
    await jetstream.publish(js, "orders.created", b"order 1", "order-1", headers={"Tenant": "acme"})
    await eventually(lambda: len(deliveries) == 3)
    await asyncio.sleep(0.5)  # room for a fourth delivery, which must not happen
    await consumer.stop()

    assert deliveries == [1, 2, 3]
    dead = await js.get_last_msg("ORDERS_DLQ", "dlq.orders.created")
    assert dead.data == b"order 1"
    assert dead.headers is not None
    assert dead.headers["Tally-Dlq-Reason"] == "ValueError: unknown customer cus_42"
    assert dead.headers["Tally-Dlq-Consumer"] == "billing"
    assert dead.headers["Tenant"] == "acme"
    info = await js.consumer_info("ORDERS", "billing")
    assert info.num_ack_pending == 0
    assert info.num_redelivered == 0


async def test_nothing_is_acked_before_the_handler_returns(nc: NATS) -> None:
    js = nc.jetstream()
    await jetstream.ensure_stream(js, ORDERS)
    deliveries: list[int] = []
    release = asyncio.Event()

    async def handle(delivery: Delivery) -> None:
        deliveries.append(delivery.delivery_count)
        await release.wait()

    # ack_wait is shorter than the handler: in-progress pings must hold the message, not a premature ack.
    spec = ConsumerSpec(stream="ORDERS", durable="billing", ack_wait_s=1.0)
    consumer = PullConsumer(js, spec, handle, fetch_timeout_s=0.2)
    await consumer.start()
    await jetstream.publish(js, "orders.created", b"order 1", "order-1")
    await eventually(lambda: deliveries == [1])
    await asyncio.sleep(2.5)

    during = await js.consumer_info("ORDERS", "billing")
    assert during.num_ack_pending == 1
    assert during.ack_floor.stream_seq == 0
    assert during.num_redelivered == 0

    release.set()
    await eventually(lambda: True)
    await asyncio.sleep(0.3)
    after = await js.consumer_info("ORDERS", "billing")
    await consumer.stop()
    assert after.num_ack_pending == 0
    assert after.ack_floor.stream_seq == 1
    assert deliveries == [1]


async def test_the_consumer_survives_a_broker_restart(nc: NATS, nats_server: NatsServer) -> None:
    js = nc.jetstream()
    await jetstream.ensure_stream(js, ORDERS)
    received: list[bytes] = []

    async def handle(delivery: Delivery) -> None:
        received.append(delivery.data)

    consumer = PullConsumer(js, ConsumerSpec(stream="ORDERS", durable="billing"), handle, fetch_timeout_s=0.2)
    await consumer.start()
    await jetstream.publish(js, "orders.created", b"before restart", "order-1")
    await eventually(lambda: received == [b"before restart"])

    nats_server.restart()
    # A request written just before the client noticed the broken connection is lost; producers retry,
    # and the same msg_id makes the retry safe.
    for _attempt in range(10):
        try:
            await jetstream.publish(js, "orders.created", b"after restart", "order-2", timeout_s=1)
            break
        except TimeoutError:  # nats or asyncio: both are TimeoutError
            continue
    await eventually(lambda: received == [b"before restart", b"after restart"])
    await consumer.stop()
