"""Stage one of recording, with no database: delivered batches made ready to write (pure).

``prepare`` turns a fetch's batches into rows, fingerprints, repeats within the fetch, events to set aside and
an optimistic rollup fold; ``combine`` joins fetches prepared apart so one transaction can write them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from opentelemetry.context import Context

from tally.metering.quarantine import Unappliable, why_unappliable
from tally.metering.recording.payload import payload_hash, properties_json
from tally.metering.recording.rows import EventKey, NewEvent
from tally.metering.rollup_fold import FoldedEvent, RollupDelta, RollupFold


@dataclass(frozen=True)
class IncomingBatch:
    """One delivered ``UsageBatchAccepted``; its events may be the decoded wire messages themselves."""

    producer_id: str
    batch_id: str
    received_at_ms: int
    events: Sequence[FoldedEvent]
    context: Context | None = None
    """The trace context the delivery carried: a UsageLate this batch causes continues that trace (the
    writer thread, where the batch is stored, has no span of its own)."""


@dataclass(slots=True)
class PreparedBatch:
    """One batch made ready for the database: the first occurrence of each id in the fetch, as rows."""

    batch: IncomingBatch
    distinct: list[FoldedEvent]
    rows: list[NewEvent]
    """One per ``distinct`` event, in the same order."""
    repeated: list[tuple[FoldedEvent, str]]
    """Events whose id came earlier in this fetch (this batch or an earlier one), with their fingerprint."""
    quarantined: list[tuple[FoldedEvent, Unappliable]] = field(default_factory=list)
    """Events metering cannot apply, with why: stored in ``quarantined_events``, never in ``events``."""


@dataclass(slots=True)
class PreparedUsage:
    """A fetch made ready for writing: its batches, and the fold of all their events under ``fold``."""

    batches: list[PreparedBatch]
    first_hashes: dict[EventKey, str]
    """Fingerprint of the first occurrence of each (producer, event id) in the fetch."""
    fold: RollupFold | None
    delta: RollupDelta | None
    """Every distinct event folded, valid if ``fold`` is still the meters in force and none was stored before."""
    customers: set[str] = field(default_factory=set)

    def rows(self) -> list[NewEvent]:
        """Every row of every batch, in order."""
        return [row for batch in self.batches for row in batch.rows]


def prepare(batches: Sequence[IncomingBatch], fold: RollupFold | None, recorded_at_ms: int) -> PreparedUsage:
    """Rows, fingerprints and repeats of ``batches``, and their fold under ``fold`` (the meters last in force).

    Touches no database and no shared state, so it may run in any thread while the previous fetch is written.
    """
    new_row = tuple.__new__  # a NewEvent without the frame of its generated __new__: once per event
    prepared: list[PreparedBatch] = []
    customers: set[str] = set()
    seen_by_producer: dict[str, dict[str, str]] = {}
    for batch in batches:
        producer_id, batch_id, received_at_ms = batch.producer_id, batch.batch_id, batch.received_at_ms
        seen = seen_by_producer.setdefault(producer_id, {})
        distinct: list[FoldedEvent] = []
        rows: list[NewEvent] = []
        repeated: list[tuple[FoldedEvent, str]] = []
        quarantined: list[tuple[FoldedEvent, Unappliable]] = []
        for event in batch.events:
            event_id, customer = event.event_id, event.customer
            text = properties_json(event.properties)
            problem = why_unappliable(event_id, customer, event.event_type, event.properties, text)
            if problem is not None:
                quarantined.append((event, problem))
                continue
            fingerprint = payload_hash(event, text)
            if event_id in seen:
                repeated.append((event, fingerprint))
                continue
            seen[event_id] = fingerprint
            distinct.append(event)
            customers.add(customer)
            rows.append(
                new_row(
                    NewEvent,
                    (
                        producer_id,
                        event_id,
                        customer,
                        event.event_type,
                        event.timestamp_ms,
                        text,
                        batch_id,
                        received_at_ms,
                        fingerprint,
                        False,
                        recorded_at_ms,
                    ),
                )
            )
        prepared.append(PreparedBatch(batch, distinct, rows, repeated, quarantined))
    first = {
        (producer_id, event_id): fingerprint
        for producer_id, seen in seen_by_producer.items()
        for event_id, fingerprint in seen.items()
    }
    delta = None
    if fold is not None:
        delta = RollupDelta()
        for batch_rows in prepared:
            fold.fold(batch_rows.distinct, delta)
    return PreparedUsage(prepared, first, fold, delta, customers)


def combine(parts: Sequence[PreparedUsage]) -> PreparedUsage:
    """Fetches prepared apart, as one: an id first seen in an earlier fetch is a repeat in a later one.

    The parts are left as they were (the batches are new wrappers), so each can still be written alone.
    """
    if len(parts) == 1:
        return parts[0]
    first: dict[EventKey, str] = {}
    batches: list[PreparedBatch] = []
    customers: set[str] = set()
    crossed = False
    for part in parts:
        for prepared in part.batches:
            if not first or not any(row.key in first for row in prepared.rows):
                batches.append(replace(prepared))
                continue
            crossed = True
            distinct: list[FoldedEvent] = []
            rows: list[NewEvent] = []
            repeated = list(prepared.repeated)
            for event, row in zip(prepared.distinct, prepared.rows, strict=True):
                if row.key in first:
                    repeated.append((event, row.payload_hash))
                else:
                    distinct.append(event)
                    rows.append(row)
            batches.append(PreparedBatch(prepared.batch, distinct, rows, repeated, prepared.quarantined))
        for key, fingerprint in part.first_hashes.items():
            first.setdefault(key, fingerprint)
        customers |= part.customers
    fold = parts[0].fold
    delta: RollupDelta | None = None
    if not crossed and fold is not None and all(p.fold is fold and p.delta is not None for p in parts):
        delta = RollupDelta()
        for part in parts:
            assert part.delta is not None
            for rollup, bucket in part.delta.buckets.items():
                mine = delta.buckets.get(rollup)
                if mine is None:
                    delta.buckets[rollup] = replace(bucket, uniques=set(bucket.uniques))
                else:
                    mine.merge(bucket)
            delta.uniques |= part.delta.uniques
    return PreparedUsage(batches, first, fold if delta is not None else None, delta, customers)
