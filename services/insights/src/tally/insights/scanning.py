"""Keeping every customer × meter series judged: read new complete steps from metering, step the detector,
store the new state with the anomalies that changed and their AnomalyDetected events (one transaction).

A series exists once its customer has sent an event of the type a meter selects (the activity projection).
Each scan brings every series from where the last one stopped (or ``history_days`` back, for a new one) to
the last complete hour or day; series starting at the same step are judged together, in one vectorised
detector, so ten thousand series cost one pass of a few hundred steps.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import numpy as np

from tally.insights.cadence import Cadence
from tally.insights.detection import Anomaly, Detector, DetectorSettings

_log = logging.getLogger(__name__)

HOURLY = "HOURLY"
DAILY = "DAILY"
CADENCES = {HOURLY: Cadence(3600), DAILY: Cadence(86_400)}
COUNTING = frozenset({"COUNT", "UNIQUE_COUNT"})
"""Meters whose quantities are event counts: Poisson noise applies to them."""
_IDS = uuid.UUID("6a3c1f0e-8f57-4a8e-9a55-2d5e6b1c9e01")


class StaleScan(Exception):
    """Another scan (another replica) judged the series first; this scan's results for it are dropped."""


@dataclass(frozen=True, slots=True)
class MeterInfo:
    id: str
    key: str
    event_type: str
    aggregation: str


@dataclass(frozen=True, slots=True)
class SeriesQuery:
    customer: str
    meter_id: str
    start: datetime
    end: datetime
    granularity: str


@dataclass(frozen=True, slots=True)
class SeriesRow:
    id: str
    customer: str
    meter_id: str
    granularity: str
    scored_until: datetime | None
    state: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SeriesUpdate:
    id: str
    customer: str
    meter_id: str
    granularity: str
    previous_until: datetime | None
    scored_until: datetime
    state: dict[str, Any]
    is_new: bool


@dataclass(frozen=True, slots=True)
class AnomalyRecord:
    id: str
    series_id: str
    customer: str
    meter_id: str
    meter_key: str
    granularity: str
    kind: str
    severity: str
    start_at: datetime
    end_at: datetime | None
    observed: str
    expected: str
    expected_low: str
    expected_high: str
    score: float
    reason: str
    detected_at: datetime


@dataclass(frozen=True, slots=True)
class ScanOutcome:
    series: Sequence[SeriesUpdate]
    anomalies: Sequence[AnomalyRecord]


@dataclass(frozen=True, slots=True)
class ScanSummary:
    series_scanned: int
    points_judged: int
    anomalies_changed: int


@dataclass(frozen=True, slots=True)
class Activity:
    customer: str
    event_type: str
    first_event_at: datetime


class UsageSource(Protocol):
    async def meters(self) -> list[MeterInfo]: ...

    async def series_values(self, queries: Sequence[SeriesQuery]) -> list[list[float]]:
        """One value per step of each query's span, in order."""
        ...


class SeriesRepository(Protocol):
    def series(self) -> list[SeriesRow]: ...

    def save_scan(self, outcome: ScanOutcome) -> None: ...


class ActivitySource(Protocol):
    def activity(self) -> list[Activity]: ...


def series_id(granularity: str, customer: str, meter_id: str) -> str:
    return f"{granularity}:{meter_id}:{customer}"


def _floor(moment: datetime, step_s: int) -> int:
    ts = int(moment.timestamp())
    return ts - ts % step_s


def _at(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _decimal_text(value: float) -> str:
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _compact(state: Any) -> Any:
    """The state with floats to 7 significant digits: a series' state is read and written on every scan."""
    if isinstance(state, float):
        return float(f"{state:.7g}")
    if isinstance(state, list):
        return [_compact(item) for item in state]
    if isinstance(state, dict):
        return {key: _compact(item) for key, item in state.items()}
    return state


@dataclass(frozen=True, slots=True)
class _Planned:
    id: str
    customer: str
    meter: MeterInfo
    granularity: str
    row: SeriesRow | None
    start_s: int


class UsageScan:
    """The scan use case; one at a time per process (a replica racing it loses cleanly: StaleScan)."""

    def __init__(
        self,
        usage: UsageSource,
        series: SeriesRepository,
        activity: ActivitySource,
        *,
        history_days: int = 35,
        settings: DetectorSettings | None = None,
    ) -> None:
        self._usage = usage
        self._series = series
        self._activity = activity
        self._history = timedelta(days=history_days)
        self._settings = settings or DetectorSettings()
        self._lock = asyncio.Lock()

    async def scan(self, as_of: datetime) -> ScanSummary:
        async with self._lock:
            meters = await self._usage.meters()
            by_type: dict[str, list[MeterInfo]] = {}
            for meter in meters:
                by_type.setdefault(meter.event_type, []).append(meter)
            held = {row.id: row for row in await asyncio.to_thread(self._series.series)}
            activity = await asyncio.to_thread(self._activity.activity)
            total = ScanSummary(0, 0, 0)
            for granularity, cadence in CADENCES.items():
                step = cadence.step_s
                end_s = _floor(as_of, step)
                groups: dict[int, list[_Planned]] = {}
                for seen in activity:
                    for meter in by_type.get(seen.event_type, ()):
                        key = series_id(granularity, seen.customer, meter.id)
                        row = held.get(key)
                        if row is not None and row.scored_until is not None:
                            start_s = int(row.scored_until.timestamp())
                        else:
                            start_s = max(
                                _floor(seen.first_event_at, step), _floor(as_of - self._history, step)
                            )
                        if start_s < end_s:
                            groups.setdefault(start_s, []).append(
                                _Planned(key, seen.customer, meter, granularity, row, start_s)
                            )
                for start_s, members in sorted(groups.items()):
                    summary = await self._judge(cadence, start_s, end_s, members)
                    total = ScanSummary(
                        total.series_scanned + summary.series_scanned,
                        total.points_judged + summary.points_judged,
                        total.anomalies_changed + summary.anomalies_changed,
                    )
            return total

    async def _judge(
        self, cadence: Cadence, start_s: int, end_s: int, members: list[_Planned]
    ) -> ScanSummary:
        step = cadence.step_s
        queries = [
            SeriesQuery(m.customer, m.meter.id, _at(start_s), _at(end_s), m.granularity) for m in members
        ]
        values = await self._usage.series_values(queries)
        steps = (end_s - start_s) // step
        matrix = np.full((steps, len(members)), np.nan)
        for column, found in enumerate(values):
            count = min(len(found), steps)
            matrix[:count, column] = found[:count]
        counts = np.array([m.meter.aggregation in COUNTING for m in members])
        detector = Detector(cadence, len(members), counts, self._settings)
        for index, member in enumerate(members):
            if member.row is not None and member.row.state:
                detector.restore(index, member.row.state)
        changed: dict[tuple[int, int], Anomaly] = {}
        for k in range(steps):
            for index, anomaly in detector.step(start_s + k * step, matrix[k]):
                changed[(index, anomaly.detected_s)] = anomaly
        outcome = ScanOutcome(
            series=[
                SeriesUpdate(
                    m.id,
                    m.customer,
                    m.meter.id,
                    m.granularity,
                    m.row.scored_until if m.row is not None else None,
                    _at(end_s),
                    _compact(detector.export(index)),
                    m.row is None,
                )
                for index, m in enumerate(members)
            ],
            anomalies=[self._record(members[index], anomaly) for (index, _), anomaly in changed.items()],
        )
        try:
            await asyncio.to_thread(self._series.save_scan, outcome)
        except StaleScan as exc:
            _log.info("series %s was scanned by another replica first; leaving it to that scan", exc)
            return ScanSummary(0, 0, 0)
        return ScanSummary(len(members), steps * len(members), len(outcome.anomalies))

    @staticmethod
    def _record(member: _Planned, anomaly: Anomaly) -> AnomalyRecord:
        return AnomalyRecord(
            id=str(uuid.uuid5(_IDS, f"{member.id}|{anomaly.detected_s}")),
            series_id=member.id,
            customer=member.customer,
            meter_id=member.meter.id,
            meter_key=member.meter.key,
            granularity=member.granularity,
            kind=anomaly.kind.value,
            severity=anomaly.severity.value,
            start_at=_at(anomaly.start_s),
            end_at=None if anomaly.end_s is None else _at(anomaly.end_s),
            observed=_decimal_text(anomaly.observed),
            expected=_decimal_text(anomaly.expected),
            expected_low=_decimal_text(anomaly.expected_low),
            expected_high=_decimal_text(anomaly.expected_high),
            score=round(anomaly.score, 3),
            reason=f"{member.meter.key} of {member.customer} ({member.granularity.lower()}): {anomaly.reason}",
            detected_at=_at(anomaly.detected_s),
        )
