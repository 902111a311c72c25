"""How events become quantities (docs/pricing.md): an event's contribution to a meter, mergeable buckets, results.

Buckets are what rollups store per (meter, customer, group, hour); a window's bucket is the merge of its
hours, so the hot path and every query share this one definition.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal, InvalidOperation

from tally.metering.domain import Aggregation, MeterDefinition

HOUR_MS = 3_600_000
ZERO = Decimal(0)

_EXACT = Context(prec=100, Emax=MAX_EMAX, Emin=MIN_EMIN)
"""Sums and Σ value × t in 100 digits: Python's default 28 would round a sum of values with 30 significant digits
(the numeric domain's) or a value times a millisecond timestamp; the exponent range is the widest, so a value
metering accepts (up to 10^±6144, beyond that it is quarantined) never overflows a bucket."""


def hour_of(timestamp_ms: int) -> int:
    """Start of the UTC hour holding ``timestamp_ms``."""
    return timestamp_ms - timestamp_ms % HOUR_MS


NULL_GROUP = "{}"
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"))
_GROUP_KEYS: dict[tuple[tuple[str, str], ...], str] = {}
_GROUP_KEYS_LIMIT = 100_000


def group_key(group: Mapping[str, str]) -> str:
    """Canonical text of a group's values (sorted JSON); '{}' is the null group."""
    return _ENCODER.encode(dict(group))


def group_of(names: tuple[str, ...], properties: Mapping[str, str]) -> str:
    """The group key of an event for a meter grouping by ``names`` (absent properties left out)."""
    # Groups repeat across events (regions, plans, clusters), so their keys are built once, not per event.
    values = tuple((name, properties[name]) for name in names if name in properties)
    key = _GROUP_KEYS.get(values)
    if key is None:
        if len(_GROUP_KEYS) >= _GROUP_KEYS_LIMIT:
            _GROUP_KEYS.clear()
        key = _GROUP_KEYS[values] = group_key(dict(values))
    return key


def parse_group_key(key: str) -> dict[str, str]:
    return dict(json.loads(key))


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one event adds to one meter: its group, its value (None for COUNT), when, and its id for ties."""

    group: str
    timestamp_ms: int
    event_id: str
    value: Decimal | None
    raw_value: str | None


def exact_sum(a: Decimal, b: Decimal) -> Decimal:
    """``a + b`` without rounding (see ``_EXACT``)."""
    return _EXACT.add(a, b)


def contribution(
    meter: MeterDefinition, event_type: str, properties: Mapping[str, str], timestamp_ms: int, event_id: str
) -> Contribution | None:
    """The event's contribution to ``meter``, or None when the meter ignores it.

    An event lacking the value property is ignored (except by COUNT); a value that is not a decimal is
    ignored too (ingestion rejects those for known meters, so only events older than the meter reach here).
    Missing group-by properties put the event in the null group for that property.
    """
    if not meter.selects(event_type, properties):
        return None
    group = group_of(meter.group_by, properties) if meter.group_by else NULL_GROUP
    if meter.aggregation is Aggregation.COUNT:
        return Contribution(group, timestamp_ms, event_id, None, None)
    raw = properties.get(meter.value_property)
    if raw is None:
        return None
    if meter.aggregation is Aggregation.UNIQUE_COUNT:
        return Contribution(group, timestamp_ms, event_id, None, raw)
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    return Contribution(group, timestamp_ms, event_id, value, raw)


@dataclass(slots=True)
class Bucket:
    """Everything any aggregation needs about a set of contributions, and mergeable with another bucket.

    ``weighted_ts`` is Σ value × t (t in seconds): with it, the time-weighted level over [S, E) is
    L0·(E−S) + E·Σvalue − Σvalue·t for the changes inside, so WEIGHTED_SUM rolls up like a sum.
    """

    count: int = 0
    sum: Decimal = ZERO
    min: Decimal | None = None
    max: Decimal | None = None
    latest_ts_ms: int | None = None
    latest_event_id: str = ""
    latest_value: Decimal | None = None
    weighted_ts: Decimal = ZERO
    uniques: set[str] = field(default_factory=set)

    def add(self, item: Contribution) -> None:
        if item.value is not None:
            self.add_value(item.value, item.timestamp_ms, item.event_id)
            return
        self.count += 1
        if item.raw_value is not None:
            self.uniques.add(item.raw_value)

    def add_value(self, value: Decimal, timestamp_ms: int, event_id: str) -> None:
        """One numeric contribution; the hot path calls this directly instead of building a Contribution."""
        self.count += 1
        self.sum = _EXACT.add(self.sum, value)
        self.weighted_ts = _EXACT.add(
            self.weighted_ts, _EXACT.divide(_EXACT.multiply(value, timestamp_ms), 1000)
        )
        if self.min is None or value < self.min:
            self.min = value
        if self.max is None or value > self.max:
            self.max = value
        if self.latest_ts_ms is None or (timestamp_ms, event_id) > (self.latest_ts_ms, self.latest_event_id):
            self.latest_ts_ms = timestamp_ms
            self.latest_event_id = event_id
            self.latest_value = value

    def merge(self, other: Bucket) -> None:
        self.count += other.count
        self.sum = _EXACT.add(self.sum, other.sum)
        self.weighted_ts = _EXACT.add(self.weighted_ts, other.weighted_ts)
        if other.min is not None and (self.min is None or other.min < self.min):
            self.min = other.min
        if other.max is not None and (self.max is None or other.max > self.max):
            self.max = other.max
        if other.latest_ts_ms is not None and (
            self.latest_ts_ms is None
            or (other.latest_ts_ms, other.latest_event_id) > (self.latest_ts_ms, self.latest_event_id)
        ):
            self.latest_ts_ms = other.latest_ts_ms
            self.latest_event_id = other.latest_event_id
            self.latest_value = other.latest_value
        self.uniques |= other.uniques


def bucket_of(items: Iterable[Contribution]) -> Bucket:
    bucket = Bucket()
    for item in items:
        bucket.add(item)
    return bucket


def result(
    aggregation: Aggregation,
    bucket: Bucket,
    *,
    start_ms: int,
    end_ms: int,
    carried_level: Decimal = ZERO,
) -> Decimal:
    """The meter's quantity for a window [start_ms, end_ms) whose contributions are in ``bucket``.

    ``carried_level`` (WEIGHTED_SUM only) is the sum of every change before ``start_ms``.
    """
    if aggregation is Aggregation.COUNT:
        return Decimal(bucket.count)
    if aggregation is Aggregation.SUM:
        return bucket.sum
    if aggregation is Aggregation.MAX:
        return bucket.max if bucket.max is not None else ZERO
    if aggregation is Aggregation.MIN:
        return bucket.min if bucket.min is not None else ZERO
    if aggregation is Aggregation.AVG:
        return bucket.sum / bucket.count if bucket.count else ZERO
    if aggregation is Aggregation.LATEST:
        return bucket.latest_value if bucket.latest_value is not None else ZERO
    if aggregation is Aggregation.UNIQUE_COUNT:
        return Decimal(len(bucket.uniques))
    seconds = Decimal(end_ms - start_ms) / 1000
    end_s = Decimal(end_ms) / 1000
    integral = _EXACT.subtract(
        _EXACT.add(_EXACT.multiply(carried_level, seconds), _EXACT.multiply(end_s, bucket.sum)),
        bucket.weighted_ts,
    )
    return integral / seconds
