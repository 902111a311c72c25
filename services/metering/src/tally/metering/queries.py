"""Usage quantities per customer, meter, window and group, and the stored-event listing behind ListEvents.

A query's whole hours come from ``rollups`` (and ``unique_values``); its partial edge hours, MINUTE windows
and the partial hour before a WEIGHTED_SUM period come from the live raw events through ``contribution()``.
Both end up as Buckets (aggregation.py), so a quantity is the same whichever path its events took.

The use cases here plan and fold; their reads go through stores: ``usage_store.py`` (one snapshot per read of
usage) and ``event_store.py`` (pages of stored events).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from tally.domain.errors import FieldViolation, InvalidArgument, NotFound
from tally.metering.aggregation import (
    HOUR_MS,
    NULL_GROUP,
    ZERO,
    Bucket,
    contribution,
    exact_sum,
    group_key,
    hour_of,
    parse_group_key,
    result,
)
from tally.metering.domain import Aggregation, MeterDefinition
from tally.metering.event_store import EventRecord, EventStore
from tally.metering.store import StoredMeter
from tally.metering.usage_store import CarriedKeys, HourKeys, SpanKeys, UsageSnapshot, UsageStore

MINUTE_MS = 60_000
DAY_MS = 86_400_000
MAX_WINDOWS = 44_640
"""Windows one query may return: a 31-day month of minutes (a larger answer would pass gRPC's 4 MB limit)."""
EARLIEST_MS = -62_135_596_800_000
"""0001-01-01T00:00Z, the earliest instant a protobuf Timestamp (and a period) may hold."""
LATEST_END_MS = 253_402_300_800_000
"""10000-01-01T00:00Z: a period ends at or before it (a Timestamp's last instant is the year 9999's last)."""
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_LAST_MONTH_INDEX = 9999 * 12 + 11
_QUERIES_PER_STATEMENT = 500  # ≤ 3 raw spans × 5 parameters each, far under SQLite's 32766 parameters


class Window(StrEnum):
    """How a query's period is cut: not at all, or at UTC minute, hour, day or calendar-month boundaries."""

    WHOLE = "WHOLE"
    MINUTE = "MINUTE"
    HOUR = "HOUR"
    DAY = "DAY"
    MONTH = "MONTH"


@dataclass(frozen=True)
class UsageQuery:
    """One customer's usage on one meter over the half-open period [start_ms, end_ms)."""

    customer: str
    meter_id: str
    start_ms: int
    end_ms: int
    window: Window = Window.WHOLE
    group_by: tuple[str, ...] = ()
    """Subset of the meter's group_by to split by; empty merges every group."""


@dataclass(frozen=True)
class UsageBucket:
    """The quantity of one window (clipped to the period) and one group ({} is the null group)."""

    start_ms: int
    end_ms: int
    group: Mapping[str, str]
    quantity: Decimal


def _month_index(moment_ms: int) -> int:
    """year × 12 + month − 1 of the UTC calendar month holding ``moment_ms`` (years 1 to 9999)."""
    day = date.fromordinal(_EPOCH_ORDINAL + moment_ms // DAY_MS)
    return day.year * 12 + day.month - 1


def _month_start_ms(index: int) -> int:
    """Start of the month ``index`` (as ``_month_index``); the month after December 9999 starts at
    LATEST_END_MS, which ``date`` cannot name."""
    if index > _LAST_MONTH_INDEX:
        return LATEST_END_MS
    year, month = divmod(index, 12)
    return (date(year, month + 1, 1).toordinal() - _EPOCH_ORDINAL) * DAY_MS


def _next_boundary(moment_ms: int, window: Window) -> int:
    if window is Window.MONTH:
        return _month_start_ms(_month_index(moment_ms) + 1)
    size = {Window.MINUTE: MINUTE_MS, Window.HOUR: HOUR_MS, Window.DAY: DAY_MS}[window]
    return moment_ms - moment_ms % size + size


def window_spans(start_ms: int, end_ms: int, window: Window) -> list[tuple[int, int]]:
    """The windows of [start_ms, end_ms): UTC calendar boundaries, the first and last cut at the period."""
    if window is Window.WHOLE:
        return [(start_ms, end_ms)]
    spans = []
    cursor = start_ms
    while cursor < end_ms:
        following = min(_next_boundary(cursor, window), end_ms)
        spans.append((cursor, following))
        cursor = following
    return spans


def _window_count(start_ms: int, end_ms: int, window: Window) -> int:
    if window is Window.WHOLE:
        return 1
    if window is Window.MONTH:
        return _month_index(end_ms - 1) - _month_index(start_ms) + 1
    size = {Window.MINUTE: MINUTE_MS, Window.HOUR: HOUR_MS, Window.DAY: DAY_MS}[window]
    return (end_ms - 1) // size - start_ms // size + 1


def query_problems(query: UsageQuery, *, prefix: str = "") -> list[FieldViolation]:
    """What is wrong with ``query`` on its own (the meter's group_by is checked once the meter is read)."""
    problems = []
    if not query.customer:
        problems.append(FieldViolation(f"{prefix}customer", "is required"))
    if not query.meter_id:
        problems.append(FieldViolation(f"{prefix}meter_id", "is required"))
    out_of_range = False
    for bound, moment_ms in (("start", query.start_ms), ("end", query.end_ms)):
        if not EARLIEST_MS <= moment_ms <= LATEST_END_MS:
            out_of_range = True
            problems.append(
                FieldViolation(
                    f"{prefix}period.{bound}",
                    "must lie between 0001-01-01T00:00:00Z and 10000-01-01T00:00:00Z (the years 1 to 9999)",
                )
            )
    if not out_of_range and query.end_ms <= query.start_ms:
        problems.append(FieldViolation(f"{prefix}period", "needs a start before its end"))
    elif not out_of_range:
        count = _window_count(query.start_ms, query.end_ms, query.window)
        if count > MAX_WINDOWS:
            problems.append(
                FieldViolation(
                    f"{prefix}window",
                    f"would cut the period into {count} windows, more than the {MAX_WINDOWS} one query may "
                    "return: use a larger window or a shorter period",
                )
            )
    if len(set(query.group_by)) != len(query.group_by):
        problems.append(FieldViolation(f"{prefix}group_by", "must not repeat a property"))
    return problems


def group_by_problems(meter: MeterDefinition, query: UsageQuery, *, prefix: str = "") -> list[FieldViolation]:
    unknown = [name for name in query.group_by if name not in meter.group_by]
    if not unknown:
        return []
    allowed = ", ".join(meter.group_by) or "none"
    return [
        FieldViolation(
            f"{prefix}group_by",
            f"{', '.join(unknown)} not among the meter's group_by properties ({allowed})",
        )
    ]


@dataclass
class UsageFold:
    """One query's answer, folded from hour buckets, distinct values and raw events in any order.

    Hours handed to ``add_hour`` must lie wholly inside the period (one window each, as every window
    boundary but the period's own is an hour boundary for HOUR, DAY and MONTH); raw events may lie anywhere:
    those before the period carry a WEIGHTED_SUM level in, the others outside it are ignored.
    """

    meter: MeterDefinition
    query: UsageQuery
    _spans: list[tuple[int, int]] = field(init=False)
    _starts: list[int] = field(init=False)
    _windows: list[dict[str, Bucket]] = field(init=False)
    _carried: dict[str, Decimal] = field(init=False, default_factory=dict)
    _projected: dict[str, str] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._spans = window_spans(self.query.start_ms, self.query.end_ms, self.query.window)
        self._starts = [start for start, _ in self._spans]
        self._windows = [{} for _ in self._spans]

    @property
    def weighted(self) -> bool:
        return self.meter.aggregation is Aggregation.WEIGHTED_SUM

    def _group(self, key: str) -> str:
        projected = self._projected.get(key)
        if projected is None:
            if not self.query.group_by:
                projected = NULL_GROUP
            else:
                values = parse_group_key(key)
                projected = group_key({n: values[n] for n in self.query.group_by if n in values})
            self._projected[key] = projected
        return projected

    def _bucket(self, moment_ms: int, key: str) -> Bucket:
        window = self._windows[bisect.bisect_right(self._starts, moment_ms) - 1]
        group = self._group(key)
        bucket = window.get(group)
        if bucket is None:
            bucket = window[group] = Bucket()
        return bucket

    def add_hour(self, key: str, hour_ms: int, bucket: Bucket) -> None:
        self._bucket(hour_ms, key).merge(bucket)

    def add_unique(self, key: str, hour_ms: int, value: str) -> None:
        self._bucket(hour_ms, key).uniques.add(value)

    def add_carried(self, key: str, level: Decimal) -> None:
        group = self._group(key)
        self._carried[group] = self._carried.get(group, ZERO) + level

    def add_event(
        self, event_type: str, properties: Mapping[str, str], timestamp_ms: int, event_id: str
    ) -> None:
        item = contribution(self.meter, event_type, properties, timestamp_ms, event_id)
        if item is None:
            return
        if timestamp_ms < self.query.start_ms:
            if self.weighted and item.value is not None:
                self.add_carried(item.group, item.value)
            return
        if timestamp_ms >= self.query.end_ms:
            return
        self._bucket(timestamp_ms, item.group).add(item)

    def buckets(self) -> list[UsageBucket]:
        """Every window, ordered by start then group key; a window without any group is one null-group 0.

        A WEIGHTED_SUM group appears in every window after its first change, since its level carries on.
        """
        answer = []
        level = dict(self._carried)
        for (start_ms, end_ms), inside in zip(self._spans, self._windows, strict=True):
            groups = sorted(inside.keys() | level.keys()) if self.weighted else sorted(inside)
            if not groups:
                answer.append(UsageBucket(start_ms, end_ms, {}, ZERO))
            for group in groups:
                bucket = inside.get(group) or Bucket()
                quantity = result(
                    self.meter.aggregation,
                    bucket,
                    start_ms=start_ms,
                    end_ms=end_ms,
                    carried_level=level.get(group, ZERO),
                )
                answer.append(UsageBucket(start_ms, end_ms, parse_group_key(group), quantity))
            if self.weighted:
                for group, bucket in inside.items():
                    level[group] = exact_sum(level.get(group, ZERO), bucket.sum)
        return answer


@dataclass(frozen=True)
class _Plan:
    """Where one query's data lives: whole hours in rollups, the rest in raw events."""

    index: int
    fold: UsageFold
    meter_id: str
    hours: tuple[int, int] | None
    raw: tuple[tuple[int, int], ...]
    carried_before_hour: int | None


def _plan(index: int, meter: StoredMeter, query: UsageQuery) -> _Plan:
    start, end = query.start_ms, query.end_ms
    first_whole = -(-start // HOUR_MS) * HOUR_MS
    last_whole = hour_of(end)
    raw: list[tuple[int, int]] = []
    hours: tuple[int, int] | None = None
    if query.window is Window.MINUTE or first_whole >= last_whole:
        raw.append((start, end))
    else:
        hours = (first_whole, last_whole)
        if start < first_whole:
            raw.append((start, first_whole))
        if last_whole < end:
            raw.append((last_whole, end))
    carried_before_hour = None
    if meter.definition.aggregation is Aggregation.WEIGHTED_SUM:
        carried_before_hour = hour_of(start)
        if carried_before_hour < start:
            raw.append((carried_before_hour, start))
    return _Plan(index, UsageFold(meter.definition, query), meter.id, hours, tuple(raw), carried_before_hour)


class UsageReader:
    """Answers usage queries from one consistent snapshot, in at most five statements per 500 queries."""

    def __init__(self, store: UsageStore) -> None:
        self._store = store

    def read(self, queries: Sequence[UsageQuery], *, batch: bool = False) -> list[list[UsageBucket]]:
        """The buckets of each query, in order; errors name ``queries[i].<field>`` when ``batch``."""

        def prefix(index: int) -> str:
            return f"queries[{index}]." if batch else ""

        problems = [p for i, query in enumerate(queries) for p in query_problems(query, prefix=prefix(i))]
        if problems:
            raise InvalidArgument(problems)
        with self._store.snapshot() as snapshot:
            defined = snapshot.meters({query.meter_id for query in queries})
            for index, query in enumerate(queries):
                if query.meter_id not in defined:
                    raise NotFound("meter", query.meter_id, field=f"{prefix(index)}meter_id")
                problems += group_by_problems(defined[query.meter_id].definition, query, prefix=prefix(index))
            if problems:
                raise InvalidArgument(problems)
            plans = [_plan(i, defined[query.meter_id], query) for i, query in enumerate(queries)]
            for start in range(0, len(plans), _QUERIES_PER_STATEMENT):
                _fill(snapshot, plans[start : start + _QUERIES_PER_STATEMENT])
        return [plan.fold.buckets() for plan in plans]


def _fill(snapshot: UsageSnapshot, plans: list[_Plan]) -> None:
    """Fold into each plan what the snapshot holds for it: whole hours, distinct values, the level carried in
    and the raw events of its spans (one statement each, for all the plans)."""
    by_index = {plan.index: plan for plan in plans}
    whole: list[HourKeys] = [(p.index, p.meter_id, p.fold.query.customer, *p.hours) for p in plans if p.hours]
    if whole:
        for q, key, hour_ms, bucket in snapshot.hours(whole):
            by_index[q].fold.add_hour(key, hour_ms, bucket)
    distinct = [row for row in whole if by_index[row[0]].fold.meter.aggregation is Aggregation.UNIQUE_COUNT]
    if distinct:
        for q, key, hour_ms, value in snapshot.unique_values(distinct):
            by_index[q].fold.add_unique(key, hour_ms, value)
    carried: list[CarriedKeys] = [
        (p.index, p.meter_id, p.fold.query.customer, p.carried_before_hour)
        for p in plans
        if p.carried_before_hour is not None
    ]
    if carried:
        for q, key, level in snapshot.carried_levels(carried):
            by_index[q].fold.add_carried(key, level)
    spans: list[SpanKeys] = [
        (p.index, p.fold.query.customer, p.fold.meter.event_type, lo, hi) for p in plans for lo, hi in p.raw
    ]
    if spans:
        for q, event_type, properties, timestamp_ms, event_id in snapshot.raw_events(spans):
            by_index[q].fold.add_event(event_type, properties, timestamp_ms, event_id)


# -- stored events ---------------------------------------------------------------------------------------


class EventListing:
    """A customer's stored events in event-time order, voided ones only on request."""

    def __init__(self, store: EventStore) -> None:
        self._store = store

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
        return self._store.list(
            customer,
            start_ms=start_ms,
            end_ms=end_ms,
            event_type=event_type,
            include_voided=include_voided,
            after=after,
            limit=limit,
        )


VALUE_AGGREGATIONS = frozenset(
    {
        Aggregation.SUM,
        Aggregation.MAX,
        Aggregation.MIN,
        Aggregation.AVG,
        Aggregation.LATEST,
        Aggregation.WEIGHTED_SUM,
    }
)
"""Meters that read a decimal value from each event: the only ones with values to list."""


@dataclass(frozen=True)
class ValuePage:
    """Values of the events examined on one page, and where the next page starts (None: no more)."""

    values: list[Decimal]
    next_position: tuple[int, str, int] | None


class MeterValues:
    """The values a numeric meter reads from one customer's events, in event order: what percentage prices
    rate one event at a time. The same events and values as its rollups: live (not voided) events of its
    type that pass its filters, with a finite decimal value (an event lacking one does not count)."""

    def __init__(self, store: EventStore) -> None:
        self._store = store

    def page(
        self,
        customer: str,
        meter: StoredMeter,
        *,
        start_ms: int,
        end_ms: int,
        after: tuple[int, str, int] | None,
        limit: int,
    ) -> ValuePage:
        definition = meter.definition
        if definition.aggregation not in VALUE_AGGREGATIONS:
            raise InvalidArgument.field(
                "meter_id",
                f"meter {definition.key!r} aggregates with {definition.aggregation.value}, which reads no "
                "values; list values of a SUM, MAX, MIN, AVG, LATEST or WEIGHTED_SUM meter",
            )
        if end_ms <= start_ms:
            raise InvalidArgument.field("period.end", "must be after period.start")
        found = self._store.live(
            customer, definition.event_type, start_ms=start_ms, end_ms=end_ms, after=after, limit=limit
        )
        values = []
        for event in found:
            # The meter's own reading of an event, as its rollups take it.
            item = contribution(
                definition, definition.event_type, event.properties, event.timestamp_ms, event.event_id
            )
            if item is not None and item.value is not None:
                values.append(item.value)
        last = found[-1] if len(found) == limit else None
        return ValuePage(values, None if last is None else last.position)
