"""Folding new events into hourly buckets, with one small plan per meter so the hot path does only its work.

Pure: the same result as ``contribution()`` + ``Bucket.add`` for every event (a unit test checks it), but
without a Contribution object per event and meter, and without the steps a meter does not need (a plain
counter reads no property at all).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Protocol

from tally.metering.aggregation import HOUR_MS, NULL_GROUP, Bucket, group_of
from tally.metering.domain import Aggregation, MeterDefinition

RollupKey = tuple[str, str, str, int]
"""(meter id, customer, group key, UTC hour start ms): one rollup row."""


class FoldedEvent(Protocol):
    """What folding reads of an event: the recorder's IncomingEvent and the wire's UsageEvent both fit."""

    @property
    def event_id(self) -> str: ...
    @property
    def customer(self) -> str: ...
    @property
    def event_type(self) -> str: ...
    @property
    def timestamp_ms(self) -> int: ...
    @property
    def properties(self) -> Mapping[str, str]: ...


@dataclass
class RollupDelta:
    """What a set of events adds to the rollups: buckets per rollup row and distinct values per row."""

    buckets: dict[RollupKey, Bucket] = field(default_factory=dict)
    uniques: set[tuple[str, str, str, int, str]] = field(default_factory=set)


class _Plan:
    """How one meter takes one event of its type."""

    __slots__ = ("definition", "meter_id")

    def __init__(self, meter_id: str, definition: MeterDefinition) -> None:
        self.meter_id = meter_id
        self.definition = definition

    def group(self, properties: Mapping[str, str]) -> str | None:
        """The event's group, or None when a filter drops it."""
        definition = self.definition
        for rule in definition.filters:
            if not rule.matches(properties):
                return None
        return group_of(definition.group_by, properties) if definition.group_by else NULL_GROUP

    def add(self, event: FoldedEvent, hour_ms: int, delta: RollupDelta) -> None:
        raise NotImplementedError


class _Count(_Plan):
    __slots__ = ()

    def add(self, event: FoldedEvent, hour_ms: int, delta: RollupDelta) -> None:
        group = self.group(event.properties)
        if group is None:
            return
        key = (self.meter_id, event.customer, group, hour_ms)
        bucket = delta.buckets.get(key)
        if bucket is None:
            bucket = delta.buckets[key] = Bucket()
        bucket.count += 1


class _UniqueCount(_Plan):
    __slots__ = ()

    def add(self, event: FoldedEvent, hour_ms: int, delta: RollupDelta) -> None:
        raw = event.properties.get(self.definition.value_property)
        if raw is None:
            return
        group = self.group(event.properties)
        if group is None:
            return
        key = (self.meter_id, event.customer, group, hour_ms)
        bucket = delta.buckets.get(key)
        if bucket is None:
            bucket = delta.buckets[key] = Bucket()
        bucket.count += 1
        delta.uniques.add((*key, raw))


class _Numeric(_Plan):
    """SUM, MAX, MIN, AVG, LATEST, WEIGHTED_SUM: every numeric field of the bucket, as rebuilds compute it."""

    __slots__ = ()

    def add(self, event: FoldedEvent, hour_ms: int, delta: RollupDelta) -> None:
        raw = event.properties.get(self.definition.value_property)
        if raw is None:
            return
        group = self.group(event.properties)
        if group is None:
            return
        try:
            value = Decimal(raw)
        except InvalidOperation:
            return
        if not value.is_finite():
            return
        key = (self.meter_id, event.customer, group, hour_ms)
        bucket = delta.buckets.get(key)
        if bucket is None:
            bucket = delta.buckets[key] = Bucket()
        bucket.add_value(value, event.timestamp_ms, event.event_id)


class RollupFold:
    """The meters in force, ready to fold events; build once per set of meter definitions."""

    def __init__(self, meters: Sequence[tuple[str, MeterDefinition]]) -> None:
        self.meters = tuple(meters)
        plain: dict[str, list[str]] = {}
        plans: dict[str, list[_Plan]] = {}
        for meter_id, definition in self.meters:
            if definition.aggregation is Aggregation.COUNT:
                if not definition.filters and not definition.group_by:
                    # A plain event counter: every event of its type adds one to its hour, nothing to read.
                    plain.setdefault(definition.event_type, []).append(meter_id)
                    continue
                plan: _Plan = _Count(meter_id, definition)
            elif definition.aggregation is Aggregation.UNIQUE_COUNT:
                plan = _UniqueCount(meter_id, definition)
            else:
                plan = _Numeric(meter_id, definition)
            plans.setdefault(definition.event_type, []).append(plan)
        self._plain = {event_type: tuple(ids) for event_type, ids in plain.items()}
        self._plans = {event_type: tuple(found) for event_type, found in plans.items()}

    def fold(self, events: Iterable[FoldedEvent], delta: RollupDelta | None = None) -> RollupDelta:
        """Add ``events`` to ``delta`` (a new one by default) and return it."""
        delta = RollupDelta() if delta is None else delta
        if not self.meters:
            return delta
        buckets = delta.buckets
        plain = self._plain
        plans = self._plans
        for event in events:
            timestamp_ms = event.timestamp_ms
            hour_ms = timestamp_ms - timestamp_ms % HOUR_MS
            for meter_id in plain.get(event.event_type, ()):
                key = (meter_id, event.customer, NULL_GROUP, hour_ms)
                bucket = buckets.get(key)
                if bucket is None:
                    bucket = buckets[key] = Bucket()
                bucket.count += 1
            for plan in plans.get(event.event_type, ()):
                plan.add(event, hour_ms, delta)
        return delta
