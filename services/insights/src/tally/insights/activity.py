"""Who sends usage of what (pure): one batch's customers, event types and producer volume, merged for storage."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True, slots=True)
class Span:
    first: datetime
    last: datetime
    events: int

    def join(self, other: Span) -> Span:
        return Span(min(self.first, other.first), max(self.last, other.last), self.events + other.events)


@dataclass
class BatchActivity:
    """Per (customer, event type): event-time span and count; per (producer, UTC day received): accepted."""

    received_at: datetime
    customers: dict[tuple[str, str], Span] = field(default_factory=dict)
    producers: dict[tuple[str, datetime], int] = field(default_factory=dict)

    @staticmethod
    def of_batch(
        producer_id: str, received_at_ms: int, events: Iterable[tuple[str, str, int]]
    ) -> BatchActivity:
        """``events`` as (customer, event type, event time in ms)."""
        received = datetime.fromtimestamp(received_at_ms / 1000, UTC)
        found = BatchActivity(received)
        count = 0
        for customer, event_type, timestamp_ms in events:
            moment = datetime.fromtimestamp(timestamp_ms / 1000, UTC)
            key = (customer, event_type)
            seen = found.customers.get(key)
            span = Span(moment, moment, 1)
            found.customers[key] = span if seen is None else seen.join(span)
            count += 1
        day = received.replace(hour=0, minute=0, second=0, microsecond=0)
        if count:
            found.producers[(producer_id, day)] = count
        return found

    @staticmethod
    def merge(batches: Sequence[BatchActivity]) -> BatchActivity:
        merged = BatchActivity(max(b.received_at for b in batches))
        for batch in batches:
            for key, span in batch.customers.items():
                seen = merged.customers.get(key)
                merged.customers[key] = span if seen is None else seen.join(span)
            for pkey, count in batch.producers.items():
                merged.producers[pkey] = merged.producers.get(pkey, 0) + count
        return merged
