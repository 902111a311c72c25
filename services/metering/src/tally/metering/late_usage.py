"""Announcing late usage: a UsageLate per customer for events counted after their period was invoiced."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.context import Context
from sqlalchemy import Connection

from tally.api.metering.v1 import events_pb2 as metering_events
from tally.mesh import streams
from tally.metering.rollup_fold import FoldedEvent
from tally.metering.store import StoredMeter
from tally.persistence import outbox


def announce_late(
    conn: Connection,
    defined: Sequence[StoredMeter],
    producer_id: str,
    key: str,
    detected_at_ms: int,
    late: Sequence[FoldedEvent],
    *,
    context: Context | None = None,
) -> None:
    """Enqueue, in ``conn``'s transaction, one UsageLate per customer of ``late`` (events of one producer).

    ``key`` names what found them (a batch id, a closing), so a retried transaction enqueues the same messages.
    ``context`` is the trace of the work that found them (the usage delivery), which each UsageLate carries on.
    """
    by_customer: dict[str, list[FoldedEvent]] = {}
    for event in late:
        by_customer.setdefault(event.customer, []).append(event)
    for customer, events in sorted(by_customer.items()):
        touched = {
            meter.id
            for meter in defined
            for event in events
            if meter.definition.selects(event.event_type, event.properties)
        }
        message = metering_events.UsageLate(
            customer=customer,
            meter_ids=sorted(touched),
            producer_id=producer_id,
            event_ids=sorted(event.event_id for event in events),
            cause=metering_events.LATE_CAUSE_ARRIVED,
        )
        message.detected_at.FromMilliseconds(detected_at_ms)
        message.period.start.FromMilliseconds(min(event.timestamp_ms for event in events))
        message.period.end.FromMilliseconds(max(event.timestamp_ms for event in events) + 1)
        outbox.enqueue(
            conn,
            streams.USAGE_LATE,
            message.SerializeToString(),
            f"usage-late:{producer_id}:{key}:{customer}",
            context=context,
        )
