"""What insights consumes: usage batches (who sends usage of what, for series and leakage) and metering's
UsageLate (usage that moved after the fact), each applied once through the inbox and acked after commit."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from tally.api.ingestion.v1 import events_pb2 as ingestion_events
from tally.api.metering.v1 import events_pb2 as metering_events
from tally.insights.activity import BatchActivity
from tally.insights.store import ActivityStore, LateUsageRow
from tally.mesh import streams
from tally.mesh.jetstream import ConsumerSpec, Delivery, SpanAttributes
from tally.mesh.wire import timestamp_from_wire

USAGE_ACTIVITY = ConsumerSpec(
    stream=streams.USAGE.name, durable="insights-usage-activity", filter_subject=f"{streams.USAGE_BATCHES}.>"
)
LATE_USAGE = ConsumerSpec(
    stream=streams.METERING.name, durable="insights-late-usage", filter_subject=streams.USAGE_LATE
)


def _msg_id(delivery: Delivery, stream: str) -> str:
    return delivery.msg_id or f"{stream}:{delivery.stream_sequence}"


class UsageActivityHandler:
    """A whole fetch of usage batches in one transaction: per customer and event type, per producer and day."""

    def __init__(self, store: ActivityStore) -> None:
        self._store = store

    async def __call__(self, deliveries: Sequence[Delivery]) -> Sequence[SpanAttributes]:
        batches = []
        for delivery in deliveries:
            batch = ingestion_events.UsageBatchAccepted.FromString(delivery.data)
            activity = BatchActivity.of_batch(
                batch.producer_id,
                batch.received_at_ms,
                ((e.customer, e.event_type, e.timestamp_ms) for e in batch.events),
            )
            batches.append((_msg_id(delivery, streams.USAGE.name), activity))
        await asyncio.to_thread(self._store.record, batches)
        return [{} for _ in deliveries]


class LateUsageHandler:
    def __init__(self, store: ActivityStore) -> None:
        self._store = store

    async def __call__(self, delivery: Delivery) -> None:
        late = metering_events.UsageLate.FromString(delivery.data)
        start = timestamp_from_wire(late.period.start)
        end = timestamp_from_wire(late.period.end)
        detected = timestamp_from_wire(late.detected_at)
        if start is None or end is None or detected is None:
            return  # nothing to place in time: not a correction insights can relate to an invoice
        row = LateUsageRow(
            late.customer,
            tuple(late.meter_ids),
            start,
            end,
            metering_events.LateCause.Name(late.cause).removeprefix("LATE_CAUSE_"),
            len(late.event_ids),
            detected,
        )
        await asyncio.to_thread(self._store.record_late, _msg_id(delivery, streams.METERING.name), row)
