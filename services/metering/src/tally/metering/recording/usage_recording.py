"""The use case on the hot path: store delivered batches' new events and fold them into hourly rollups, in
one transaction, exactly once per (producer, event id).

Two stages, so the consumer can overlap them (handlers.py): ``prepare`` needs no database (prepared.py), and
``write`` holds the transaction only for what does, through a ``UsageWriter`` (writer.py) for the database
in use (``writers.usage_writer`` picks it). It speaks no SQL: the transaction it holds is the writer's, handed
back to the writer's methods. Kept off the ORM (docs/performance.md).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from tally.metering.late_usage import announce_late
from tally.metering.recording.payload import payload_json
from tally.metering.recording.prepared import (
    IncomingBatch,
    PreparedBatch,
    PreparedUsage,
    combine,
    prepare,
)
from tally.metering.recording.rows import ConflictRow, EventKey, QuarantineRow, UniqueValueRow
from tally.metering.recording.writer import UsageWriter, WriteTransaction
from tally.metering.rollup_fold import FoldedEvent, RollupFold
from tally.metering.store import StoredMeter

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordOutcome:
    """What a batch changed: new events, repeats of known events, and repeats whose payload differs."""

    inserted: int
    duplicates: int
    conflicts: int
    late: int
    quarantined: int = 0
    """Events newly set aside because metering cannot apply them (quarantine.py); a redelivery adds none."""


class UsageRecording:
    """Records usage batches exactly once per (producer, event id), keeping rollups equal to raw events."""

    def __init__(self, writer: UsageWriter, *, clock: Callable[[], float] = time.time) -> None:
        self._writer = writer
        self._clock = clock
        self._fold: RollupFold | None = None

    def close(self) -> None:
        """Give back the kept writer connection, if any (the next write opens another)."""
        self._writer.close()

    def record(
        self, producer_id: str, batch_id: str, received_at_ms: int, events: Sequence[FoldedEvent]
    ) -> RecordOutcome:
        return self.record_batches([IncomingBatch(producer_id, batch_id, received_at_ms, events)])[0]

    def record_batches(self, batches: Sequence[IncomingBatch]) -> list[RecordOutcome]:
        """Record several delivered batches in one transaction (one commit), each deduplicated on its own."""
        return self.write(self.prepare(batches))

    def prepare(self, batches: Sequence[IncomingBatch]) -> PreparedUsage:
        """Stage one (no database): ``batches`` made ready, folded under the meters last seen in force."""
        return prepare(batches, self._fold, int(self._clock() * 1000))  # commits follow within the write

    def write_many(self, parts: Sequence[PreparedUsage]) -> list[list[RecordOutcome]]:
        """Store several prepared fetches in one transaction (one commit); the outcomes of each, in order."""
        outcomes = self.write(combine(parts))
        split: list[list[RecordOutcome]] = []
        start = 0
        for part in parts:
            split.append(outcomes[start : start + len(part.batches)])
            start += len(part.batches)
        return split

    def write(self, prepared: PreparedUsage) -> list[RecordOutcome]:
        """Stage two: store what ``prepare`` made ready, in one transaction; the caller acks only after this."""
        writer = self._writer
        with writer.transaction() as conn:
            defined = writer.meters(conn)
            fold = self._fold_for(defined)
            existing = writer.store_events(conn, prepared.rows())
            # Closed periods are read only now, with the events inserted: on PostgreSQL the insert holds the
            # lock a closing waits for (closing.py), so either that closing sweeps these events or this read
            # sees it. On SQLite the write lock, taken first, orders the two anyway.
            closed = writer.closed_until(conn, prepared.customers) if prepared.customers else {}
            if closed:
                late = _late_ids(prepared, closed, existing)
                if late:
                    writer.flag_late(conn, late)
            outcomes = []
            new_events: list[FoldedEvent] = []
            for batch in prepared.batches:
                quarantined = self._set_aside(conn, batch)
                outcome, fresh = self._settle_batch(conn, defined, closed, prepared, batch, existing)
                outcomes.append(replace(outcome, quarantined=quarantined) if quarantined else outcome)
                new_events.extend(fresh)
            if prepared.delta is not None and prepared.fold is fold and not existing:
                delta = prepared.delta
            else:
                delta = fold.fold(new_events)
            if delta.buckets:
                writer.upsert_rollups(conn, delta.buckets)
            if delta.uniques:
                writer.insert_unique_values(conn, [UniqueValueRow(*row) for row in sorted(delta.uniques)])
        return outcomes

    def _fold_for(self, defined: list[StoredMeter]) -> RollupFold:
        meters_in_force = tuple((meter.id, meter.definition) for meter in defined)
        fold = self._fold
        if fold is None or fold.meters != meters_in_force:
            fold = self._fold = RollupFold(meters_in_force)
        return fold

    def _settle_batch(
        self,
        conn: WriteTransaction,
        defined: list[StoredMeter],
        closed: dict[str, int],
        prepared: PreparedUsage,
        batch: PreparedBatch,
        existing: dict[EventKey, str],
    ) -> tuple[RecordOutcome, list[FoldedEvent]]:
        """What one batch changed, its conflicts kept and its late events announced; and its new events."""
        producer_id, batch_id = batch.batch.producer_id, batch.batch.batch_id
        repeats = list(batch.repeated)
        if existing:
            new_events = []
            for event, row in zip(batch.distinct, batch.rows, strict=True):
                if row.key in existing:
                    repeats.append((event, row.payload_hash))
                else:
                    new_events.append(event)
        else:
            new_events = batch.distinct
        conflicts = (
            self._keep_conflicts(conn, batch, repeats, existing, prepared.first_hashes) if repeats else 0
        )
        late = (
            [event for event in new_events if event.timestamp_ms < closed.get(event.customer, 0)]
            if closed
            else []
        )
        if late:
            announce_late(
                conn,
                defined,
                producer_id,
                batch_id,
                batch.batch.received_at_ms,
                late,
                context=batch.batch.context,
            )
        outcome = RecordOutcome(
            inserted=len(new_events),
            duplicates=len(batch.batch.events) - len(new_events) - len(batch.quarantined),
            conflicts=conflicts,
            late=len(late),
        )
        return outcome, new_events

    def _set_aside(self, conn: WriteTransaction, batch: PreparedBatch) -> int:
        """Store the batch's events metering cannot apply, with their reason (once per producer and event id:
        a redelivery sets nothing aside again); how many were newly set aside."""
        if not batch.quarantined:
            return 0
        now_ms = int(self._clock() * 1000)
        producer_id, batch_id = batch.batch.producer_id, batch.batch.batch_id
        added = self._writer.set_aside(
            conn,
            [
                QuarantineRow(
                    producer_id,
                    event.event_id.replace("\x00", "\\x00"),
                    batch_id,
                    payload_json(event),
                    problem.field,
                    problem.reason,
                    now_ms,
                )
                for event, problem in batch.quarantined
            ],
        )
        if added:
            first_field, first_reason = batch.quarantined[0][1]
            _log.warning(
                "batch %s from %s: %d event(s) metering cannot apply set aside (first: %s %s); the rest is recorded",
                batch_id,
                producer_id,
                added,
                first_field,
                first_reason,
            )
        return added

    def _keep_conflicts(
        self,
        conn: WriteTransaction,
        batch: PreparedBatch,
        repeats: list[tuple[FoldedEvent, str]],
        existing: dict[EventKey, str],
        first_hashes: dict[EventKey, str],
    ) -> int:
        """Keep for review each repeat whose payload differs from what is stored for its id; how many."""
        producer_id, batch_id = batch.batch.producer_id, batch.batch.batch_id
        detected_at_ms = int(self._clock() * 1000)
        conflicting = []
        for event, fingerprint in repeats:
            # What is stored for an id now: what was there before this fetch, else its first occurrence in it.
            key = (producer_id, event.event_id)
            stored = existing.get(key) or first_hashes[key]
            if stored != fingerprint:
                conflicting.append(
                    ConflictRow(
                        producer_id, event.event_id, batch_id, stored, payload_json(event), detected_at_ms
                    )
                )
        if not conflicting:
            return 0
        self._writer.record_conflicts(conn, conflicting)
        _log.warning(
            "batch %s from %s: %d event id(s) seen before with a different payload; kept the first, "
            "recorded the conflict",
            batch_id,
            producer_id,
            len(conflicting),
        )
        return len(conflicting)


def _late_ids(
    prepared: PreparedUsage, closed: dict[str, int], existing: dict[EventKey, str]
) -> dict[str, list[str]]:
    """Per producer, the ids of the events just stored whose time is before their customer's closed period."""
    late: dict[str, list[str]] = {}
    for batch in prepared.batches:
        for row in batch.rows:
            if row.timestamp_ms < closed.get(row.customer, 0) and row.key not in existing:
                late.setdefault(row.producer_id, []).append(row.event_id)
    return late
