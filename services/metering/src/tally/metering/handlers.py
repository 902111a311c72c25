"""Metering use cases: record delivered usage batches exactly once, define meters, list stored events."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from tally.api.ingestion.v1 import events_pb2
from tally.mesh import attributes, metrics, telemetry
from tally.mesh.jetstream import Delivery, PoisonMessage, SpanAttributes
from tally.mesh.vouching import VOUCHER_HEADER, UsageVoucher
from tally.metering.domain import MeterDefinition, validate_meter
from tally.metering.recording.prepared import IncomingBatch, PreparedUsage
from tally.metering.recording.usage_recording import RecordOutcome, UsageRecording
from tally.metering.store import (
    ConflictStore,
    EventConflict,
    MeterStore,
    QuarantinedEvent,
    QuarantineStore,
    StoredMeter,
)
from tally.metering.watermark import WatermarkStore


class UsageRecorder:
    """Handles ``UsageBatchAccepted``: each event is stored once, however often the batch is delivered.

    Decoding and preparing a fetch (pure Python, holding the GIL) runs in the default executor; writing runs in
    one writer thread that commits every fetch prepared while it was busy in one transaction (group commit).
    With several fetch loops on the consumer (``__main__``), fetches are taken and prepared while the previous
    ones commit, and the busier the writer, the larger its transactions: SQLite's per-commit cost (the pages
    of the customer/time index a transaction touched) is then shared by more events.
    """

    def __init__(self, recording: UsageRecording, voucher: UsageVoucher | None = None) -> None:
        """With ``voucher``, only batches ingestion signed are recorded (see ``tally.mesh.vouching``)."""
        self._recording = recording
        self._voucher = voucher
        # One writer: SQLite takes one writer at a time anyway, and on PostgreSQL two of our own writers
        # would only contend for the same rollup rows.
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="usage-writer")
        self._waiting: list[_Waiting] = []
        self._waiting_lock = threading.Lock()

    async def handle(self, deliveries: Sequence[Delivery]) -> list[SpanAttributes]:
        """Record every delivered batch in one transaction; span attributes per delivery."""
        prepared = await asyncio.to_thread(self._prepare, deliveries)
        loop = asyncio.get_running_loop()
        waiting = _Waiting(prepared, loop, loop.create_future())
        with self._waiting_lock:
            self._waiting.append(waiting)
        self._writer.submit(self._write_waiting)
        outcomes = await waiting.outcomes
        for batch, outcome in zip(prepared.batches, outcomes, strict=True):
            if outcome.quarantined:
                metrics.EVENTS_QUARANTINED.add(
                    outcome.quarantined, {attributes.PRODUCER: batch.batch.producer_id}
                )
        return [
            {
                attributes.BATCH_ID: batch.batch.batch_id,
                attributes.PRODUCER: batch.batch.producer_id,
                attributes.EVENTS_INSERTED: outcome.inserted,
                attributes.EVENTS_DUPLICATE: outcome.duplicates,
                attributes.EVENTS_CONFLICT: outcome.conflicts,
                attributes.EVENTS_LATE: outcome.late,
                attributes.EVENTS_QUARANTINED: outcome.quarantined,
            }
            for batch, outcome in zip(prepared.batches, outcomes, strict=True)
        ]

    def close(self) -> None:
        """Wait for a write in progress, then stop the writer thread and return its connection."""
        self._writer.shutdown(wait=True)
        self._recording.close()

    def _prepare(self, deliveries: Sequence[Delivery]) -> PreparedUsage:
        if self._voucher is not None:
            for delivery in deliveries:
                if not self._voucher.vouches_for(
                    delivery.subject, delivery.msg_id, delivery.data, delivery.headers.get(VOUCHER_HEADER)
                ):
                    # Fails the fetch; retried one by one, only this message is refused (never counted).
                    raise PoisonMessage(
                        f"usage message {delivery.msg_id!r} on {delivery.subject} carries no valid voucher "
                        "from ingestion; not counted"
                    )
        return self._recording.prepare([_incoming(delivery) for delivery in deliveries])

    def _write_waiting(self) -> None:
        """Writer thread: everything prepared so far in one transaction (a no-op if an earlier call took it)."""
        with self._waiting_lock:
            taken, self._waiting = self._waiting, []
        if not taken:
            return
        try:
            results = self._recording.write_many([waiting.prepared for waiting in taken])
        except Exception as exc:
            if len(taken) == 1:
                taken[0].settle(exc)
                return
            # One fetch's failure must not fail the others: each on its own, in its own transaction.
            for waiting in taken:
                try:
                    waiting.settle(self._recording.write(waiting.prepared))
                except Exception as alone:
                    waiting.settle(alone)
            return
        for waiting, outcomes in zip(taken, results, strict=True):
            waiting.settle(outcomes)


@dataclass
class _Waiting:
    """A prepared fetch waiting for the writer, and where its handler awaits the outcome."""

    prepared: PreparedUsage
    loop: asyncio.AbstractEventLoop
    outcomes: asyncio.Future[list[RecordOutcome]]

    def settle(self, result: list[RecordOutcome] | BaseException) -> None:
        """From the writer thread: hand the outcomes (or the failure) to the awaiting handler."""
        self.loop.call_soon_threadsafe(_resolve, self.outcomes, result)


def _resolve(
    future: asyncio.Future[list[RecordOutcome]], result: list[RecordOutcome] | BaseException
) -> None:
    if future.cancelled():
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)


def _incoming(delivery: Delivery) -> IncomingBatch:
    # The decoded wire events are recorded as they are (they have every field the recorder reads):
    # copying each into another object was a fifth of the consumer's time.
    batch = events_pb2.UsageBatchAccepted.FromString(delivery.data)
    return IncomingBatch(
        batch.producer_id,
        batch.batch_id,
        batch.received_at_ms,
        batch.events,
        telemetry.context_of(delivery.headers),
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


class QuarantineReview:
    """The events metering set aside because it could not apply them, for an operator to review."""

    def __init__(self, store: QuarantineStore) -> None:
        self._store = store

    async def list(self, *, producer_id: str, after_id: int | None, limit: int) -> list[QuarantinedEvent]:
        return await asyncio.to_thread(
            self._store.list, producer_id=producer_id, after_id=after_id, limit=limit
        )


class UsageWatermarks:
    """Points in metering's history that a period's close compares stored events with (watermark.py)."""

    def __init__(self, store: WatermarkStore) -> None:
        self._store = store

    async def now(self) -> int:
        return await asyncio.to_thread(self._store.now)


class ConflictReview:
    """Event ids that arrived again with another payload (the first is kept), for an operator to review."""

    def __init__(self, store: ConflictStore) -> None:
        self._store = store

    async def list(self, *, producer_id: str, after_id: int | None, limit: int) -> list[EventConflict]:
        return await asyncio.to_thread(
            self._store.list, producer_id=producer_id, after_id=after_id, limit=limit
        )
