"""The store behind ListEvents and ListMeterValues: a customer's stored events in event-time order, in keyset
pages, each page one statement."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Engine, and_, false, or_, select

from tally.metering.store import EventRow, events


@dataclass(frozen=True)
class EventRecord:
    """A stored event and what has happened to it since it arrived."""

    id: int
    event: EventRow
    late: bool
    amended: bool
    voided: bool

    @property
    def position(self) -> tuple[int, str, int]:
        """Its place in event-time order (ties: smaller event_id, then arrival)."""
        return (self.event.timestamp_ms, self.event.event_id, self.id)


class LiveEvent(NamedTuple):
    """What a meter reads of a live (not voided) stored event."""

    id: int
    event_id: str
    timestamp_ms: int
    properties: dict[str, str]

    @property
    def position(self) -> tuple[int, str, int]:
        """Its place in event-time order, as ``EventRecord.position``."""
        return (self.timestamp_ms, self.event_id, self.id)


def event_record(row: Any) -> EventRecord:
    return EventRecord(
        id=row.id,
        event=EventRow(
            producer_id=row.producer_id,
            event_id=row.event_id,
            customer=row.customer,
            event_type=row.event_type,
            timestamp_ms=row.timestamp_ms,
            properties=json.loads(row.properties),
            batch_id=row.batch_id,
            received_at_ms=row.received_at_ms,
        ),
        late=bool(row.late),
        amended=bool(row.amended),
        voided=bool(row.voided),
    )


def live_event(row: Any) -> LiveEvent:
    return LiveEvent(row.id, row.event_id, row.timestamp_ms, json.loads(row.properties))


LIVE_EVENT_COLUMNS = (events.c.id, events.c.event_id, events.c.timestamp_ms, events.c.properties)
EVENT_ORDER = (events.c.timestamp_ms, events.c.event_id, events.c.id)
"""Event-time order (ties: smaller event_id, then arrival): how events are listed and paged."""


def _after(position: tuple[int, str, int]) -> ColumnElement[bool]:
    """Events after ``position`` in EVENT_ORDER (keyset paging)."""
    at, event_id, row_id = position
    return or_(
        events.c.timestamp_ms > at,
        and_(events.c.timestamp_ms == at, events.c.event_id > event_id),
        and_(events.c.timestamp_ms == at, events.c.event_id == event_id, events.c.id > row_id),
    )


class EventStore:
    """Reads pages of one customer's stored events in EVENT_ORDER."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def live(
        self,
        customer: str,
        event_type: str,
        *,
        start_ms: int,
        end_ms: int,
        after: tuple[int, str, int] | None,
        limit: int,
    ) -> list[LiveEvent]:
        """Up to ``limit`` of the customer's live events of ``event_type`` in [start_ms, end_ms) after
        ``after``."""
        query = (
            select(*LIVE_EVENT_COLUMNS)
            .where(
                events.c.customer == customer,
                events.c.event_type == event_type,
                events.c.timestamp_ms >= start_ms,
                events.c.timestamp_ms < end_ms,
                events.c.voided == false(),
            )
            .order_by(*EVENT_ORDER)
            .limit(limit)
        )
        if after is not None:
            query = query.where(_after(after))
        with self._engine.connect() as conn:
            return [live_event(row) for row in conn.execute(query)]

    def list(
        self,
        customer: str,
        *,
        start_ms: int | None,
        end_ms: int | None,
        event_type: str | None,
        include_voided: bool,
        after: tuple[int, str, int] | None,
        limit: int,
    ) -> list[EventRecord]:
        """Up to ``limit`` of the customer's events after ``after``, optionally of one type and period."""
        query = select(events).where(events.c.customer == customer).order_by(*EVENT_ORDER).limit(limit)
        if start_ms is not None:
            query = query.where(events.c.timestamp_ms >= start_ms)
        if end_ms is not None:
            query = query.where(events.c.timestamp_ms < end_ms)
        if event_type:
            query = query.where(events.c.event_type == event_type)
        if not include_voided:
            query = query.where(events.c.voided == false())
        if after is not None:
            query = query.where(_after(after))
        with self._engine.connect() as conn:
            return [event_record(row) for row in conn.execute(query)]
