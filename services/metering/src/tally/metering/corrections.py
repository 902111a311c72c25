"""Corrections of stored usage: amending and voiding events, changing meters, rebuilding rollups from raw events.

Each correction rewrites whole (meter, customer, hour) rollups from the live raw events while holding the
usage lock (``lock_usage``), so the hot path can neither add to a rollup being rewritten nor insert an event
the rewrite misses: afterwards every rollup is again the bucket of its hour's live events.

The use cases here decide and fold; they read and write through the store ``corrections_store.py``, whose
``locked()`` transaction takes that lock first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from tally.api.metering.v1 import events_pb2 as metering_events
from tally.domain.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from tally.mesh import streams
from tally.metering.aggregation import Bucket, contribution, hour_of
from tally.metering.corrections_store import CorrectionStore, LockedUsage
from tally.metering.domain import Aggregation, MeterChange, MeterDefinition, restates_usage
from tally.metering.event_store import EventRecord, LiveEvent
from tally.metering.handlers import MeterCatalog
from tally.metering.quarantine import why_unappliable
from tally.metering.recording.payload import IncomingEvent, payload_hash, properties_json
from tally.metering.store import StoredMeter


def _now() -> datetime:
    return datetime.now(UTC)


def _buckets(definition: MeterDefinition, event_type: str, live: Iterable[LiveEvent]) -> dict[str, Bucket]:
    """The meter's buckets of ``live`` (events of ``event_type``), per group."""
    groups: dict[str, Bucket] = {}
    for event in live:
        item = contribution(definition, event_type, event.properties, event.timestamp_ms, event.event_id)
        if item is not None:
            groups.setdefault(item.group, Bucket()).add(item)
    return groups


def _restate_hour(
    tx: LockedUsage, defined: list[StoredMeter], customer: str, event_type: str, hour_ms: int
) -> None:
    """Rewrite every given meter's rollups of one customer and hour (all its groups) from the live events."""
    live = tx.live_events_in_hour(customer, event_type, hour_ms)
    writer = tx.rollup_writer()
    for meter in defined:
        tx.clear_rollups(meter.id, customer, hour_ms)
        writer.add(meter, customer, hour_ms, _buckets(meter.definition, event_type, live))
    writer.flush()


def _rebuild_customer(tx: LockedUsage, meter: StoredMeter, customer: str) -> tuple[int, int]:
    """Rewrite one customer's rollups of ``meter`` from its live events, an hour at a time (memory stays flat).

    Returns (events read, rollup rows written). The caller has cleared the customer's old rows.
    """
    writer = tx.rollup_writer()
    definition = meter.definition
    read = 0
    hour: int | None = None
    groups: dict[str, Bucket] = {}
    for event in tx.live_events(customer, definition.event_type):
        read += 1
        if hour_of(event.timestamp_ms) != hour:
            if hour is not None:
                writer.add(meter, customer, hour, groups)
            hour, groups = hour_of(event.timestamp_ms), {}
        item = contribution(
            definition, definition.event_type, event.properties, event.timestamp_ms, event.event_id
        )
        if item is not None:
            groups.setdefault(item.group, Bucket()).add(item)
    if hour is not None:
        writer.add(meter, customer, hour, groups)
    writer.flush()
    return read, writer.written


def _meter(tx: LockedUsage, meter_id: str, *, field: str = "meter_id") -> StoredMeter:
    found = tx.meter(meter_id)
    if found is None:
        raise NotFound("meter", meter_id, field=field)
    return found


@dataclass(frozen=True)
class RebuildOutcome:
    """What a rebuild recomputed: live events read and rollup rows written."""

    event_count: int
    rollup_count: int


class MeterRevisions:
    """Meters with their rollups: a new meter is backfilled, a changed one restated, any one rebuilt."""

    def __init__(self, catalog: MeterCatalog, store: CorrectionStore) -> None:
        self._catalog = catalog
        self._store = store

    async def create(self, definition: MeterDefinition) -> StoredMeter:
        """Define the meter, then fold in the events of its type that arrived before it."""
        stored = await self._catalog.create(definition)
        await asyncio.to_thread(self._rebuild, stored.id, "meter.id")
        return stored

    async def update(self, meter_id: str, change: MeterChange) -> StoredMeter:
        return await asyncio.to_thread(self._update, meter_id, change, _now())

    async def rebuild(self, meter_id: str) -> RebuildOutcome:
        return await asyncio.to_thread(self._rebuild, meter_id, "meter_id")

    def _update(self, meter_id: str, change: MeterChange, now: datetime) -> StoredMeter:
        # One transaction: nobody ever reads the new definition against the old rollups (or the reverse).
        with self._store.locked() as tx:
            current = _meter(tx, meter_id, field="meter.id")
            changed = change.applied_to(current.definition)
            # MeterChanged's message id carries updated_at in milliseconds: two updates never share one.
            now = max(now, current.updated_at + timedelta(milliseconds=1))
            tx.change_meter(meter_id, changed, now)
            stored = StoredMeter(meter_id, changed, current.created_at, now)
            if restates_usage(current.definition, changed):
                tx.clear_rollups(meter_id)
                for customer in tx.customers(stored):
                    _rebuild_customer(tx, stored, customer)
        return stored

    def _rebuild(self, meter_id: str, field: str) -> RebuildOutcome:
        # Listing customers under the lock is a barrier: a recording transaction that read the meter list
        # before this meter existed has committed by now, so its customers are in the list.
        with self._store.locked() as tx:
            customers = tx.customers(_meter(tx, meter_id, field=field))
        read = written = 0
        for customer in customers:
            # One transaction per customer: a reader sees a customer's old rollups or its new ones, never half.
            with self._store.locked() as tx:
                meter = _meter(tx, meter_id, field=field)
                tx.clear_rollups(meter_id, customer)
                customer_read, customer_written = _rebuild_customer(tx, meter, customer)
            read += customer_read
            written += customer_written
        return RebuildOutcome(read, written)


class Correction(StrEnum):
    AMENDED = "AMENDED"
    VOIDED = "VOIDED"


_LATE_CAUSES = {
    Correction.AMENDED: metering_events.LATE_CAUSE_AMENDED,
    Correction.VOIDED: metering_events.LATE_CAUSE_VOIDED,
}


def _value_problems(
    defined: list[StoredMeter], event_type: str, properties: Mapping[str, str]
) -> list[FieldViolation]:
    """Amended values must be numbers for every meter that reads them, as ingestion demands of new events."""
    problems = []
    for meter in defined:
        definition = meter.definition
        if definition.aggregation in (Aggregation.COUNT, Aggregation.UNIQUE_COUNT):
            continue
        raw = properties.get(definition.value_property)
        if raw is None or not definition.selects(event_type, properties):
            continue
        try:
            finite = Decimal(raw).is_finite()
        except InvalidOperation:
            finite = False
        if not finite:
            problems.append(
                FieldViolation(
                    f"properties.{definition.value_property}",
                    f"must be a decimal number: meter {definition.key!r} reads it",
                )
            )
    return problems


class EventCorrections:
    """Amends and voids stored events, keeping an audit trail and the rollups equal to the live events."""

    def __init__(self, store: CorrectionStore) -> None:
        self._store = store

    async def amend(
        self, producer_id: str, event_id: str, properties: Mapping[str, str], reason: str, actor: str
    ) -> EventRecord:
        return await asyncio.to_thread(
            self._correct, Correction.AMENDED, producer_id, event_id, dict(properties), reason, actor
        )

    async def void(self, producer_id: str, event_id: str, reason: str, actor: str) -> EventRecord:
        return await asyncio.to_thread(
            self._correct, Correction.VOIDED, producer_id, event_id, None, reason, actor
        )

    def _correct(
        self,
        correction: Correction,
        producer_id: str,
        event_id: str,
        properties: dict[str, str] | None,
        reason: str,
        actor: str,
    ) -> EventRecord:
        problems = [
            FieldViolation(name, "is required")
            for name, value in (
                ("producer_id", producer_id),
                ("event_id", event_id),
                ("reason", reason.strip()),
            )
            if not value
        ]
        if problems:
            raise InvalidArgument(problems)
        now_ms = int(_now().timestamp() * 1000)
        with self._store.locked() as tx:
            before = tx.event(producer_id, event_id)
            if before is None:
                raise NotFound("event", event_id, field="event_id")
            event = before.event
            if before.voided:
                raise FailedPrecondition(f"event {event_id!r} of producer {producer_id!r} is already voided")
            defined = tx.meters_of(event.event_type)
            if properties is None:
                after = tx.void(producer_id, event_id)
            else:
                problems = _value_problems(defined, event.event_type, properties)
                unappliable = why_unappliable(event_id, event.customer, event.event_type, properties)
                if unappliable is not None:  # what the recorder would quarantine, an amendment may not write
                    problems.append(FieldViolation(unappliable.field, unappliable.reason))
                if problems:
                    raise InvalidArgument(problems)
                text = properties_json(properties)
                incoming = IncomingEvent(
                    event_id, event.customer, event.event_type, event.timestamp_ms, properties
                )
                after = tx.amend(producer_id, event_id, text, payload_hash(incoming, text))
            audit_id = tx.audit(
                producer_id,
                event_id,
                correction.value,
                before,
                after,
                reason=reason,
                actor=actor,
                at_ms=now_ms,
            )
            _restate_hour(tx, defined, event.customer, event.event_type, hour_of(event.timestamp_ms))
            touched = sorted(
                meter.id
                for meter in defined
                if any(
                    not record.voided
                    and contribution(
                        meter.definition,
                        event.event_type,
                        record.event.properties,
                        event.timestamp_ms,
                        event_id,
                    )
                    is not None
                    for record in (before, after)
                )
            )
            closed_until = tx.closed_until(event.customer)
            if touched and closed_until is not None and event.timestamp_ms < closed_until:
                late = metering_events.UsageLate(
                    customer=event.customer,
                    meter_ids=touched,
                    event_ids=[event_id],
                    producer_id=producer_id,
                    cause=_LATE_CAUSES[correction],
                )
                late.period.start.FromMilliseconds(event.timestamp_ms)
                late.period.end.FromMilliseconds(event.timestamp_ms + 1)
                late.detected_at.FromMilliseconds(now_ms)
                tx.enqueue(
                    streams.USAGE_LATE,
                    late.SerializeToString(),
                    f"usage-late:{correction.value.lower()}:{producer_id}:{event_id}:{audit_id}",
                )
        return after
