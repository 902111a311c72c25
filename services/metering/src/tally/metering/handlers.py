"""Metering use cases: record delivered usage batches exactly once, define meters, list stored events."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from tally.api.ingestion.v1 import events_pb2
from tally.mesh import attributes
from tally.mesh.jetstream import Delivery, SpanAttributes
from tally.metering.domain import MeterDefinition, validate_meter
from tally.metering.recording import IncomingBatch, IncomingEvent, UsageRecording
from tally.metering.store import MeterStore, StoredMeter


class UsageRecorder:
    """Handles ``UsageBatchAccepted``: each event is stored once, however often the batch is delivered."""

    def __init__(self, recording: UsageRecording) -> None:
        self._recording = recording

    async def handle(self, deliveries: Sequence[Delivery]) -> list[SpanAttributes]:
        """Record every delivered batch in one transaction; span attributes per delivery."""
        batches = [
            _incoming(events_pb2.UsageBatchAccepted.FromString(delivery.data)) for delivery in deliveries
        ]
        outcomes = await asyncio.to_thread(self._recording.record_batches, batches)
        return [
            {
                attributes.BATCH_ID: batch.batch_id,
                attributes.PRODUCER: batch.producer_id,
                attributes.EVENTS_INSERTED: outcome.inserted,
                attributes.EVENTS_DUPLICATE: outcome.duplicates,
                attributes.EVENTS_CONFLICT: outcome.conflicts,
                attributes.EVENTS_LATE: outcome.late,
            }
            for batch, outcome in zip(batches, outcomes, strict=True)
        ]


def _incoming(batch: events_pb2.UsageBatchAccepted) -> IncomingBatch:
    return IncomingBatch(
        batch.producer_id,
        batch.batch_id,
        batch.received_at_ms,
        [
            IncomingEvent(
                event.event_id, event.customer, event.event_type, event.timestamp_ms, dict(event.properties)
            )
            for event in batch.events
        ],
    )


class MeterCatalog:
    """Meter definitions."""

    def __init__(self, store: MeterStore) -> None:
        self._store = store

    async def create(self, definition: MeterDefinition) -> StoredMeter:
        validate_meter(definition)
        return await asyncio.to_thread(self._store.create, str(uuid.uuid4()), definition, datetime.now(UTC))

    async def get(self, meter_id: str) -> StoredMeter:
        return await asyncio.to_thread(self._store.get, meter_id)

    async def list(self, *, after_id: str | None, limit: int) -> list[StoredMeter]:
        return await asyncio.to_thread(self._store.list, after_id=after_id, limit=limit)
