"""The rows the recorder writes, as named types whose fields are the tables' columns, in order (pure).

Named tuples, not dataclasses: a row is handed to the database drivers as it is (a COPY row, the
parameters of a multi-row INSERT), and a tuple costs the hot path nothing more than a plain one.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, NamedTuple

from tally.metering.aggregation import Bucket
from tally.metering.rollup_fold import RollupKey

EventKey = tuple[str, str]
"""(producer id, event id): what makes an event one event."""


class NewEvent(NamedTuple):
    """An ``events`` row about to be stored; ``late`` is settled in the recording transaction."""

    producer_id: str
    event_id: str
    customer: str
    event_type: str
    timestamp_ms: int
    properties: str
    """The canonical JSON text of the properties (payload.properties_json)."""
    batch_id: str
    received_at_ms: int
    payload_hash: str
    late: bool
    recorded_at_ms: int

    @property
    def key(self) -> EventKey:
        return (self.producer_id, self.event_id)


EVENT_COLUMNS: tuple[str, ...] = NewEvent._fields


class RollupRow(NamedTuple):
    """A ``rollups`` row: one (meter, customer, group, hour) bucket, its decimals as ``number`` renders them."""

    meter_id: str
    customer: str
    group_key: str
    hour_ms: int
    count: int  # type: ignore[assignment]  # the column, not tuple.count
    sum: Any
    min: Any
    max: Any
    latest_ts_ms: int | None
    latest_event_id: str
    latest_value: Any
    weighted_ts: Any

    @classmethod
    def of(cls, key: RollupKey, bucket: Bucket, number: Callable[[Decimal], Any] = Decimal) -> RollupRow:
        """The row of ``bucket``; ``number`` renders each decimal (as is, or as text for SQLite)."""
        meter_id, customer, group_key, hour_ms = key
        return cls(
            meter_id,
            customer,
            group_key,
            hour_ms,
            bucket.count,
            number(bucket.sum),
            None if bucket.min is None else number(bucket.min),
            None if bucket.max is None else number(bucket.max),
            bucket.latest_ts_ms,
            bucket.latest_event_id,
            None if bucket.latest_value is None else number(bucket.latest_value),
            number(bucket.weighted_ts),
        )

    @property
    def key(self) -> RollupKey:
        return (self.meter_id, self.customer, self.group_key, self.hour_ms)

    def bucket(self) -> Bucket:
        """The bucket this row holds (decimals read from whatever the database gave: text or Decimal)."""
        return Bucket(
            count=self.count,
            sum=Decimal(self.sum),
            min=None if self.min is None else Decimal(self.min),
            max=None if self.max is None else Decimal(self.max),
            latest_ts_ms=self.latest_ts_ms,
            latest_event_id=self.latest_event_id,
            latest_value=None if self.latest_value is None else Decimal(self.latest_value),
            weighted_ts=Decimal(self.weighted_ts),
        )


ROLLUP_COLUMNS: tuple[str, ...] = RollupRow._fields


class UniqueValueRow(NamedTuple):
    """A ``unique_values`` row: one distinct raw value of a UNIQUE_COUNT meter in one rollup's hour."""

    meter_id: str
    customer: str
    group_key: str
    hour_ms: int
    value: str


UNIQUE_VALUE_COLUMNS: tuple[str, ...] = UniqueValueRow._fields


class ConflictRow(NamedTuple):
    """An ``event_conflicts`` row: an event id seen again with another payload."""

    producer_id: str
    event_id: str
    batch_id: str
    stored_hash: str
    received_payload: str
    detected_at_ms: int


class QuarantineRow(NamedTuple):
    """A ``quarantined_events`` row: an event metering cannot apply, set aside with why."""

    producer_id: str
    event_id: str
    """With any NUL written as ``\\x00``: a text column cannot hold NUL."""
    batch_id: str
    payload: str
    field: str
    reason: str
    quarantined_at_ms: int
