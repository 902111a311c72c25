"""Handling a whole fetch in one call: one commit for many messages, per-message spans, poison isolated."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from nats.aio.client import Client as NATS
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from tally.mesh import jetstream
from tally.mesh.jetstream import ConsumerSpec, Delivery, PullConsumer, StreamSpec

ORDERS = StreamSpec(name="ORDERS", subjects=("orders.>",), storage="file")


async def publish_all(js, count: int) -> None:
    for i in range(count):
        await jetstream.publish(js, "orders.created", f"order {i}".encode(), f"order-{i}")


async def test_a_fetch_is_handled_in_one_call_and_every_message_keeps_its_trace(
    nc: NATS, spans: InMemorySpanExporter
) -> None:
    js = nc.jetstream()
    await jetstream.ensure_stream(js, ORDERS)
    await publish_all(js, 5)
    calls: list[list[bytes]] = []
    inside: list[trace.Span] = []

    async def together(deliveries: Sequence[Delivery]) -> list[dict[str, int]]:
        calls.append([d.data for d in deliveries])
        inside.append(trace.get_current_span())
        return [{"order.size": len(d.data)} for d in deliveries]

    consumer = PullConsumer(js, ConsumerSpec(stream="ORDERS", durable="billing"), together=together, batch=10)
    await consumer.start()
    for _ in range(100):
        if sum(len(call) for call in calls) == 5:
            break
        await asyncio.sleep(0.05)
    await consumer.stop()

    assert calls == [[f"order {i}".encode() for i in range(5)]]
    info = await js.consumer_info("ORDERS", "billing")
    assert (info.num_ack_pending, info.ack_floor.stream_seq) == (0, 5)
    producers = {s.context.span_id: s for s in spans.get_finished_spans() if s.kind is SpanKind.PRODUCER}
    finished = [s for s in spans.get_finished_spans() if s.kind is SpanKind.CONSUMER]
    (batch,) = [s for s in finished if s.name == "billing process batch"]
    consumers = [s for s in finished if s is not batch]
    assert len(consumers) == 5
    for span in consumers:
        assert span.parent is not None and span.parent.span_id in producers
        assert span.context.trace_id == producers[span.parent.span_id].context.trace_id
        assert span.attributes["order.size"] == 7
    # The one call for the whole fetch ran in a span of its own, linked to every message's span.
    assert inside[0].get_span_context().span_id == batch.context.span_id
    assert {link.context.span_id for link in batch.links} == {s.context.span_id for s in consumers}
    assert batch.attributes["messaging.batch.message_count"] == 5


async def test_when_the_batch_fails_each_message_is_tried_alone_and_only_the_poison_is_retried(
    nc: NATS,
) -> None:
    js = nc.jetstream()
    await jetstream.ensure_stream(js, ORDERS)
    await publish_all(js, 4)
    applied: list[bytes] = []

    async def together(deliveries: Sequence[Delivery]) -> list[dict[str, int]]:
        if any(d.data == b"order 2" for d in deliveries):
            raise ValueError("order 2 cannot be applied")
        applied.extend(d.data for d in deliveries)
        return [{} for _ in deliveries]

    spec = ConsumerSpec(stream="ORDERS", durable="billing", max_deliver=2, backoff_s=(0.1,))
    consumer = PullConsumer(js, spec, together=together, batch=10, fetch_timeout_s=0.2)
    await consumer.start()
    for _ in range(100):
        dlq = await js.stream_info("ORDERS_DLQ")
        if dlq.state.messages == 1:
            break
        await asyncio.sleep(0.05)
    await consumer.stop()

    assert sorted(applied) == [b"order 0", b"order 1", b"order 3"]
    assert (await js.stream_info("ORDERS_DLQ")).state.messages == 1
