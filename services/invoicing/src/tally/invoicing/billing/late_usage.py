"""UsageLate: usage that changed after its period closed, kept until the customer's next invoice corrects it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from opentelemetry import trace

from tally.api.metering.v1 import events_pb2 as metering_events
from tally.domain.errors import InvalidArgument
from tally.invoicing.billing.store import BillingStore, LateUsage
from tally.mesh import streams
from tally.mesh.jetstream import ConsumerSpec, Delivery
from tally.mesh.wire import timestamp_from_wire
from tally.pricing import Period

_log = logging.getLogger(__name__)

LATE_USAGE_CONSUMER = ConsumerSpec(
    stream=streams.METERING.name,
    durable="invoicing-usage-late",
    filter_subject=streams.USAGE_LATE,
)


def _now() -> datetime:
    return datetime.now(UTC)


def late_usage_from_wire(message_id: str, data: bytes) -> tuple[LateUsage, str, datetime | None]:
    """The late usage a UsageLate message reports, its cause and when it was detected."""
    event = metering_events.UsageLate.FromString(data)
    if not event.customer:
        raise InvalidArgument.field("customer", "is required")
    start, end = timestamp_from_wire(event.period.start), timestamp_from_wire(event.period.end)
    if start is None or end is None or end <= start:
        raise InvalidArgument.field("period", "needs a start before its end")
    cause = metering_events.LateCause.Name(event.cause).removeprefix("LATE_CAUSE_")
    late = LateUsage(
        message_id, event.customer, tuple(event.meter_ids), tuple(event.event_ids), Period(start, end)
    )
    return late, cause, timestamp_from_wire(event.detected_at)


class LateUsageRecorder:
    """Keeps each UsageLate once (by message id); the next billing run turns it into adjustment lines."""

    def __init__(self, store: BillingStore, *, clock: Callable[[], datetime] = _now) -> None:
        self._store = store
        self._clock = clock

    async def handle(self, delivery: Delivery) -> None:
        message_id = delivery.msg_id or f"stream-seq:{delivery.stream_sequence}"
        late, cause, detected = late_usage_from_wire(message_id, delivery.data)
        fresh = await asyncio.to_thread(
            self._store.record_late_usage, late, cause=cause, detected_at=detected or self._clock()
        )
        trace.get_current_span().set_attribute("tally.late_usage.fresh", fresh)
        _log.info(
            "late usage for %s (%d events, %s): %s",
            late.customer,
            len(late.event_ids),
            cause,
            "kept" if fresh else "repeat",
        )
