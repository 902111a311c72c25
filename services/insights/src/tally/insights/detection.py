"""Usage anomalies (pure): spikes, drops, level shifts and silences against each series' own rhythm.

Every step, each series' value is compared with what its seasonal model expects for that hour of that day
of the week (``seasonal_model``), in standard deviations of its own noise (``score``):

- a point beyond ``outlier_sigmas`` opens a SPIKE (above) or a DROP (below); the model does not learn from
  it, so an incident cannot become the new normal by itself;
- a run of ``shift_points`` points beyond ``shift_sigmas`` on the same side, none of them zero, is a
  LEVEL_SHIFT: the model accepts the new level at once (median error of the run) instead of alarming on
  every following point, and a drift slower than the level's half-life is simply followed;
- zeros are judged on the evidence they carry: for counts, a run of zeros is an incident once the counts
  it should have held add up to ``zero_evidence`` (the chance of so many events all missing by luck is
  below e^-10); a run of zeros longer than ``silence_after_s`` is a SILENCE (a producer gone quiet);
- a missing point (NaN: no data, not zero) is neither judged nor learned.

Points closer together than ``merge_points`` belong to one incident, so a burst is one anomaly, not ten.
Nothing is judged before the model has seen a week (two days without weekly rhythm, two weeks of days).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from enum import Enum
from typing import Any

import numpy as np
import numpy.typing as npt

from tally.insights.cadence import Cadence, infer_cadence, regularize
from tally.insights.seasonal_model import ModelRates, SeasonalModel

Array = npt.NDArray[np.float64]

HOUR_S = 3600
RECENT_POINTS = 6
"""Errors kept per series to measure a confirmed level shift by."""


class AnomalyKind(Enum):
    SPIKE = "SPIKE"
    DROP = "DROP"
    LEVEL_SHIFT = "LEVEL_SHIFT"
    SILENCE = "SILENCE"


class Severity(Enum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"


@dataclass(frozen=True, slots=True)
class DetectorSettings:
    """How much evidence each kind of incident needs."""

    outlier_sigmas: float = 5.0
    """A single point this many standard deviations off is an incident."""
    shift_slack: float = 0.5
    """Deviations up to this many standard deviations are noise to the level-shift CUSUM..."""
    shift_threshold: float = 12.0
    """...which reports a level shift once the excess beyond it adds up to this many."""
    shift_points: int = 4
    """A spike or drop lasting this many points in a row is a level shift."""
    zero_evidence: float = 12.0
    """Expected events a run of zeros must have missed before it counts (counts only): all of them missing
    by chance has a probability of e^-12 (6 in a million)."""
    silence_after_s: int = 12 * 3600
    """A run of zeros this long is a silence, not a drop."""
    merge_points: int = 2
    """Normal points needed to close an incident; anything sooner continues it."""
    normal_sigmas: float = 2.0
    """Half-width of the normal range reported with each anomaly, in standard deviations."""


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One incident on one series; ``end_s`` is None while it goes on."""

    kind: AnomalyKind
    start_s: int
    end_s: int | None
    observed: float
    """The value at the incident's most anomalous point (the new level's first value for a level shift)."""
    expected: float
    """What the model expected at that point."""
    expected_low: float
    expected_high: float
    """The normal range at that point (expected ± ``normal_sigmas`` standard deviations)."""
    score: float
    """How far off, in standard deviations, signed (negative below expectations)."""
    points: int
    """Anomalous points so far."""
    detected_s: int
    """The step at which the incident was first reported."""

    @property
    def severity(self) -> Severity:
        if self.kind is AnomalyKind.SILENCE:
            return Severity.CRITICAL if self.expected >= 1 else Severity.HIGH
        if self.kind is AnomalyKind.DROP and self.observed == 0:
            return Severity.HIGH  # an outage: all the usage is missing, however noisy the series
        if self.kind is AnomalyKind.LEVEL_SHIFT:
            # A lasting change is judged by how much it moved usage, not by one point's surprise.
            moved = abs(self.observed / self.expected - 1) if self.expected > 0 else math.inf
            for bound, severity in ((1.0, Severity.CRITICAL), (0.5, Severity.HIGH), (0.2, Severity.MEDIUM)):
                if moved >= bound:
                    return severity
            return Severity.LOW
        size = abs(self.score)
        if size >= 40:
            return Severity.CRITICAL
        if size >= 15:
            return Severity.HIGH
        if size >= 8:
            return Severity.MEDIUM
        return Severity.LOW

    @property
    def reason(self) -> str:
        """What happened, in plain words."""
        usual = f"normally {_num(self.expected_low)}–{_num(self.expected_high)}"
        if self.kind is AnomalyKind.SILENCE:
            return (
                f"no usage for {_duration(self.points)} points in a row where about {_num(self.expected)} "
                f"per step was expected ({usual}): the producer looks silent"
            )
        if self.kind is AnomalyKind.DROP and self.observed == 0:
            return f"usage fell to zero where {_num(self.expected)} was expected ({usual})"
        ratio = self.observed / self.expected if self.expected > 0 else math.inf
        if self.kind is AnomalyKind.LEVEL_SHIFT:
            change = (ratio - 1) * 100
            way = "up" if change >= 0 else "down"
            return (
                f"usage moved {way} {abs(change):.0f} % and stayed there: {_num(self.observed)} where "
                f"{_num(self.expected)} was expected ({usual})"
            )
        if self.kind is AnomalyKind.SPIKE:
            times = f"{ratio:.1f}×" if math.isfinite(ratio) else "far above"
            return (
                f"usage spiked to {_num(self.observed)}, {times} the {_num(self.expected)} expected ({usual})"
            )
        return (
            f"usage dropped to {_num(self.observed)}, {ratio * 100:.0f} % of the {_num(self.expected)} "
            f"expected ({usual})"
        )

    def to_dict(self) -> dict[str, Any]:
        found = asdict(self)
        found["kind"] = self.kind.value
        found["severity"] = self.severity.value
        found["reason"] = self.reason
        return found

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Anomaly:
        fields = {k: v for k, v in data.items() if k not in ("severity", "reason")}
        fields["kind"] = AnomalyKind(fields["kind"])
        return Anomaly(**fields)


def _num(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:,.1f}"
    return f"{value:.3g}"


def _duration(points: int) -> str:
    return f"{points:,}"


@dataclass
class _Open:
    """An incident of one series: still going on until ``end_s`` is set."""

    anomaly: Anomaly
    quiet: int = 0
    """Normal points seen since its last anomalous one."""
    zero_run: bool = False
    errors: list[float] = field(default_factory=list)
    """Log errors of its consecutive points (a spike that lasts becomes a level shift)."""


class Detector:
    """Judges ``size`` series sharing one clock, one step at a time; keeps each one's open incident."""

    def __init__(
        self,
        cadence: Cadence,
        size: int,
        counts: npt.NDArray[np.bool_] | Sequence[bool],
        settings: DetectorSettings | None = None,
        rates: ModelRates | None = None,
    ) -> None:
        self.cadence = cadence
        self.settings = settings or DetectorSettings()
        self.model = SeasonalModel(cadence, size, np.asarray(counts, dtype=bool), rates or ModelRates())
        self._zero_len = np.zeros(size)
        self._zero_evidence = np.zeros(size)
        self._zero_start = np.zeros(size, dtype=np.int64)
        # Two one-sided CUSUMs of the scores (Page's test) find a shift too small for any one point to show.
        self._cusum = np.zeros((2, size))
        self._cusum_start = np.zeros((2, size), dtype=np.int64)
        self._cusum_error = np.zeros((2, size))
        self._cusum_points = np.zeros((2, size))
        # The last errors of each series: a confirmed shift is measured on the points after it, not since
        # the CUSUM began (which may include normal points before the shift).
        self._recent = np.full((size, RECENT_POINTS), np.nan)
        self._open: dict[int, _Open] = {}
        self._silence_points = cadence.points(self.settings.silence_after_s)

    def step(self, ts: int, values: Array) -> list[tuple[int, Anomaly]]:
        """Judge the values of every series at ``ts`` (NaN: no data) and learn from the normal ones.

        Returns the incidents that began, grew, changed kind or ended at this step, by series index."""
        s = self.settings
        model = self.model
        expected = model.expected(ts)
        sigma = model.sigma(expected)
        z = np.log1p(np.maximum(values, 0.0))
        error = z - expected
        known = ~np.isnan(values)
        warm = model.warm()
        lam = np.expm1(np.clip(expected, 0.0, 50.0))
        score = np.where(model.counts, _count_score(values, expected, sigma, model.spread), error / sigma)

        zero = known & (values <= 0) & warm
        suspicious_zero = zero & np.where(model.counts, lam >= 0.5, score < -s.outlier_sigmas)
        self._zero_len = np.where(suspicious_zero, self._zero_len + 1, 0)
        # Evidence counts the events the low end of the normal range expected: an expectation that is
        # itself uncertain (a quiet hour of a small customer) must not make a few zeros an outage.
        lam_low = np.expm1(np.clip(expected - sigma, 0.0, 50.0))
        self._zero_evidence = np.where(
            suspicious_zero, self._zero_evidence + np.where(model.counts, lam_low, s.zero_evidence), 0.0
        )
        self._zero_start = np.where(suspicious_zero & (self._zero_len == 1), ts, self._zero_start)

        judged = known & warm & ~zero
        outlier = judged & (np.abs(score) > s.outlier_sigmas)
        self._recent[judged] = np.column_stack((self._recent[judged, 1:], error[judged]))
        shifted = self._track_shift(ts, judged & ~outlier, score, error)
        # While a shift is building up the model stops learning, or it would absorb the shift before the
        # CUSUM can tell; the CUSUM either fires (and the level moves at once) or falls back to zero.
        building: npt.NDArray[np.bool_] = np.asarray((self._cusum > s.shift_threshold / 2).any(axis=0))
        learn = known & ~outlier & ~suspicious_zero

        changed: list[tuple[int, Anomaly]] = []
        low = np.expm1(np.maximum(expected - s.normal_sigmas * sigma, 0.0))
        high = np.expm1(expected + s.normal_sigmas * sigma)
        touched = np.flatnonzero(suspicious_zero | outlier | shifted).tolist()
        for i in sorted(set(touched) | {i for i, o in self._open.items() if o.anomaly.end_s is None}):
            point = (float(values[i]), float(lam[i]), float(low[i]), float(high[i]), float(score[i]))
            event = self._judge(i, ts, point, bool(suspicious_zero[i]), bool(outlier[i]), float(error[i]))
            if event is None and shifted[i]:
                event = self._level_shift(i, ts, point)
            if event is not None:
                changed.append((i, event))
        model.step(ts, z, learn, expected, sigma, hold_level=building)
        return changed

    def _track_shift(
        self, ts: int, use: npt.NDArray[np.bool_], score: Array, error: Array
    ) -> npt.NDArray[np.bool_]:
        s = self.settings
        alarms = np.zeros(score.shape, dtype=bool)
        for side, sign in ((0, 1.0), (1, -1.0)):
            before = self._cusum[side]
            after = np.where(use, np.maximum(0.0, before + sign * score - s.shift_slack), before)
            starting = use & (before == 0) & (after > 0)
            going = use & (after > 0)
            self._cusum_start[side] = np.where(starting, ts, self._cusum_start[side])
            self._cusum_error[side] = np.where(
                starting,
                error,
                np.where(going, self._cusum_error[side] + error, np.where(use, 0.0, self._cusum_error[side])),
            )
            self._cusum_points[side] = np.where(
                starting,
                1.0,
                np.where(going, self._cusum_points[side] + 1, np.where(use, 0.0, self._cusum_points[side])),
            )
            self._cusum[side] = after
            alarms |= after > s.shift_threshold
        return alarms

    def _judge(
        self,
        i: int,
        ts: int,
        point: tuple[float, float, float, float, float],
        zero: bool,
        outlier: bool,
        error: float,
    ) -> Anomaly | None:
        s = self.settings
        step = self.cadence.step_s
        observed, expected, low, high, score = point
        current = self._open.get(i)
        going = current is not None and current.anomaly.end_s is None

        if zero:
            if going and current is not None and current.zero_run:
                a = current.anomaly
                kind = AnomalyKind.SILENCE if self._zero_len[i] >= self._silence_points else a.kind
                current.anomaly = replace(a, points=a.points + 1, kind=kind)
                return current.anomaly
            if self._zero_evidence[i] >= s.zero_evidence:
                if going:
                    self._close(i, ts)
                kind = AnomalyKind.SILENCE if self._zero_len[i] >= self._silence_points else AnomalyKind.DROP
                opened = Anomaly(
                    kind,
                    int(self._zero_start[i]),
                    None,
                    0.0,
                    expected,
                    low,
                    high,
                    score,
                    int(self._zero_len[i]),
                    ts,
                )
                self._open[i] = _Open(opened, zero_run=True)
                return opened
            return None

        if outlier:
            kind = AnomalyKind.SPIKE if score > 0 else AnomalyKind.DROP
            if going and current is not None and not current.zero_run and current.anomaly.kind is kind:
                a = current.anomaly
                grown = replace(a, points=a.points + 1)
                if abs(score) > abs(a.score):
                    grown = replace(
                        grown,
                        observed=observed,
                        expected=expected,
                        expected_low=low,
                        expected_high=high,
                        score=score,
                    )
                current.errors = [*current.errors, error] if current.quiet == 0 else [error]
                current.anomaly, current.quiet = grown, 0
                if len(current.errors) >= s.shift_points:
                    return self._persisted(i, ts, current)
                return grown
            if going:
                self._close(i, ts)
            opened = Anomaly(kind, ts, None, observed, expected, low, high, score, 1, ts)
            self._open[i] = _Open(opened, errors=[error])
            return opened

        if going and current is not None:
            current.quiet += 1
            if current.zero_run:
                return self._close(i, ts)
            if current.quiet >= s.merge_points:
                return self._close(i, ts - (current.quiet - 1) * step)
        return None

    def _persisted(self, i: int, ts: int, current: _Open) -> Anomaly:
        """A spike or drop that has lasted ``shift_points`` points in a row: the level itself moved."""
        self.model.shift_level(np.array([i]), np.array([float(np.median(current.errors))]))
        self._cusum[:, i] = 0.0
        current.anomaly = replace(
            current.anomaly, kind=AnomalyKind.LEVEL_SHIFT, end_s=ts + self.cadence.step_s
        )
        return current.anomaly

    def _level_shift(self, i: int, ts: int, point: tuple[float, float, float, float, float]) -> Anomaly:
        """The CUSUM of series ``i`` crossed its threshold: accept the new level, report where it began."""
        observed, expected, low, high, score = point
        side = 0 if self._cusum[0, i] > self.settings.shift_threshold else 1
        start = int(self._cusum_start[side, i])
        points = int(self._cusum_points[side, i])
        recent = self._recent[i, -min(points, RECENT_POINTS) :]
        recent = recent[~np.isnan(recent)]
        moved = (
            float(np.median(recent)) if recent.size else float(self._cusum_error[side, i]) / max(points, 1)
        )
        self.model.shift_level(np.array([i]), np.array([moved]))
        self._cusum[:, i] = 0.0
        current = self._open.get(i)
        if current is not None and current.anomaly.end_s is None:
            self._close(i, ts)
        shifted = Anomaly(
            AnomalyKind.LEVEL_SHIFT,
            start,
            ts + self.cadence.step_s,
            observed,
            expected,
            low,
            high,
            score,
            points,
            ts,
        )
        self._open[i] = _Open(shifted)
        return shifted

    def _close(self, i: int, end_s: int) -> Anomaly:
        current = self._open[i]
        current.anomaly = replace(current.anomaly, end_s=end_s)
        return current.anomaly

    def open_incident(self, i: int) -> Anomaly | None:
        """Series ``i``'s incident still going on, if any."""
        current = self._open.get(i)
        if current is None or current.anomaly.end_s is not None:
            return None
        return current.anomaly

    # -- state kept between scans -------------------------------------------------------------------------
    def export(self, i: int) -> dict[str, Any]:
        """Series ``i``'s whole state (model, zero run, CUSUMs, open incident) as JSON-ready data."""
        current = self._open.get(i)
        return {
            "model": self.model.export(i),
            "zero": [float(self._zero_len[i]), float(self._zero_evidence[i]), int(self._zero_start[i])],
            "cusum": [
                self._cusum[:, i].tolist(),
                self._cusum_start[:, i].tolist(),
                self._cusum_error[:, i].tolist(),
                self._cusum_points[:, i].tolist(),
            ],
            "recent": self._recent[i].tolist(),
            "open": None
            if current is None or current.anomaly.end_s is not None
            else [current.anomaly.to_dict(), current.quiet, current.zero_run, current.errors],
        }

    def restore(self, i: int, state: dict[str, Any]) -> None:
        """Put back what ``export`` gave, into series ``i``."""
        self.model.restore(i, state["model"])
        self._zero_len[i], self._zero_evidence[i], self._zero_start[i] = state["zero"]
        for array, values in zip(
            (self._cusum, self._cusum_start, self._cusum_error, self._cusum_points),
            state["cusum"],
            strict=True,
        ):
            array[:, i] = values
        self._recent[i] = state["recent"]
        if state["open"] is not None:
            anomaly, quiet, zero_run, errors = state["open"]
            self._open[i] = _Open(Anomaly.from_dict(anomaly), quiet, zero_run, list(errors))


MIN_RATE = 1.0
"""The smallest expected count a count is judged against: a sparse series' expectation is itself uncertain,
and two events where the model expected 0.1 are not an incident."""


def _count_score(values: Array, expected: Array, sigma: Array, spread: Array) -> Array:
    """How far off a count is, in standard deviations: the signed Poisson deviance residual (close to normal
    even for a handful of events, where the log scale is not), scaled down by the series' overdispersion.
    The expected count is the mean of the log-normal (exp(μ + σ²/2) − 1), not its median."""
    lam = np.maximum(np.expm1(np.clip(expected + sigma**2 / 2, 0.0, 50.0)), MIN_RATE)
    y = np.nan_to_num(np.maximum(values, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(y > 0, y * np.log(y / lam), 0.0)
    deviance = np.maximum(2.0 * (term - (y - lam)), 0.0)
    return np.sign(y - lam) * np.sqrt(deviance) / np.sqrt(1.0 + lam * spread)


def looks_like_counts(values: Array) -> bool:
    """True when every known value is a whole number ≥ 0: Poisson noise then applies."""
    known = values[~np.isnan(values)]
    return bool(known.size) and bool(np.all(known >= 0)) and bool(np.all(known == np.round(known)))


def detect(
    timestamps: Sequence[int] | npt.NDArray[np.int64],
    values: Sequence[float] | Array,
    *,
    cadence: Cadence | None = None,
    counts: bool | None = None,
    settings: DetectorSettings | None = None,
) -> list[Anomaly]:
    """Every incident of one series (timestamps in seconds, gaps allowed), oldest first; a series finer than
    hourly is judged per hour."""
    cadence = cadence or infer_cadence(timestamps)
    if counts is None:
        counts = looks_like_counts(np.asarray(values, dtype=np.float64))
    per_step = 1
    if cadence.step_s < HOUR_S and HOUR_S % cadence.step_s == 0:
        # Finer than hourly, each point holds a sliver of an hour's noise and the rhythm a sliver of its shape:
        # judged per hour (summed, or averaged for levels), as the service judges usage, incidents stand out
        # of much less noise.
        per_step = HOUR_S // cadence.step_s
        cadence = Cadence(HOUR_S)
    grid_ts, grid = regularize(timestamps, values, cadence, summed=counts, per_step=per_step)
    detector = Detector(cadence, 1, [counts], settings)
    found: dict[int, Anomaly] = {}
    for ts, value in zip(grid_ts.tolist(), grid.tolist(), strict=True):
        for _, anomaly in detector.step(ts, np.array([value])):
            found[anomaly.detected_s] = anomaly
    return sorted(found.values(), key=lambda a: a.start_s)
