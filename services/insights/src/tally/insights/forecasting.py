"""Usage forecasts (pure): the detector's own seasonal model, run over history and projected forward.

The history goes through the anomaly detector first, so the forecast is built from the model that already
refused to learn from spikes and outages and accepted level shifts: a single bad day does not bend the
month-end forecast. The projection is expected(t) = level + damped trend + seasonal offsets on the log scale,
turned back into a mean (exp(μ + σ²/2) − 1, not the median). The interval of a total over H future steps
holds the level's own uncertainty (shared by every step) and each step's noise (independent):
sd² = σ_level² + σ²/H on the log scale, σ_level² = σ² · a/(2 − a) for a level learning at rate a.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tally.domain.errors import InvalidArgument
from tally.insights.cadence import Cadence, infer_cadence, regularize
from tally.insights.detection import Detector, looks_like_counts
from tally.insights.seasonal_model import ModelRates

Z80 = 1.2816
"""The two-sided 80 % interval of a normal error: what the forecasts' low and high bound."""

FORECAST_RATES = ModelRates(level_days=7.0, trend=0.01, trend_damping=0.99, weekday_days=21.0)
"""A forecast wants a steadier level than an alarm does, and a small damped trend for growing customers."""


@dataclass(frozen=True, slots=True)
class ForecastPoint:
    ts: int
    value: float
    """Expected value (mean)."""
    low: float
    high: float
    """80 % interval."""


@dataclass(frozen=True, slots=True)
class PeriodForecast:
    """A period's total: what is known so far plus what the remaining steps are expected to add."""

    so_far: float
    remaining: float
    total: float
    low: float
    high: float
    """80 % interval of the total."""
    steps_left: int


class Forecaster:
    """The model of one series after its history, ready to project."""

    def __init__(
        self,
        timestamps: Sequence[int] | npt.NDArray[np.int64],
        values: Sequence[float] | npt.NDArray[np.float64],
        *,
        cadence: Cadence | None = None,
    ) -> None:
        ts = np.asarray(timestamps, dtype=np.int64)
        if ts.size < 2:
            raise InvalidArgument.field("values", "need at least two points of history to forecast")
        vs = np.asarray(values, dtype=np.float64)
        # A history starts with its first usage: the zeros before it (a customer not yet sending) are not a
        # level to learn, and a level shift out of them would colour the noise the forecast expects.
        used = np.flatnonzero(np.nan_to_num(vs) != 0)
        first = min(int(used[0]), ts.size - 2) if used.size else ts.size - 2
        ts, values = ts[first:], vs[first:]
        self.cadence = cadence or infer_cadence(ts)
        counts = looks_like_counts(np.asarray(values, dtype=np.float64))
        grid_ts, grid = regularize(ts, values, self.cadence, summed=counts)
        detector = Detector(self.cadence, 1, [counts], rates=FORECAST_RATES)
        for t, value in zip(grid_ts.tolist(), grid.tolist(), strict=True):
            detector.step(t, np.array([value]))
        self._model = detector.model
        self.last_ts = int(grid_ts[-1])

    def _project(
        self, horizon: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.float64], float]:
        model = self._model
        step = self.cadence.step_s
        stamps = self.last_ts + step * np.arange(1, horizon + 1, dtype=np.int64)
        damping = model.rates.trend_damping
        slope = float(model.trend[0])
        level = float(model.level[0])
        mu = np.empty(horizon)
        sigma = np.empty(horizon)
        carried = 0.0
        for h, ts in enumerate(stamps.tolist()):
            carried += slope * damping**h
            mu[h] = level + carried + float(model.seasonal(ts)[0])
            sigma[h] = float(model.sigma(np.array([mu[h]]))[0])
        a = model.level_rate
        level_sd = float(np.sqrt(np.mean(sigma**2) * a / (2 - a)))
        return stamps, mu, sigma, level_sd

    def forecast(self, horizon: int) -> list[ForecastPoint]:
        """The next ``horizon`` steps, each with its 80 % interval."""
        if horizon <= 0:
            raise InvalidArgument.field("horizon", f"must be at least 1 step, got {horizon}")
        stamps, mu, sigma, level_sd = self._project(horizon)
        spread = np.sqrt(sigma**2 + level_sd**2)
        mean = np.maximum(np.expm1(mu + sigma**2 / 2), 0.0)
        low = np.maximum(np.expm1(mu - Z80 * spread), 0.0)
        high = np.expm1(mu + Z80 * spread)
        return [
            ForecastPoint(int(t), float(v), float(lo), float(hi))
            for t, v, lo, hi in zip(stamps, mean, low, high, strict=True)
        ]

    def total(self, horizon: int) -> tuple[float, float, float]:
        """The sum of the next ``horizon`` steps: (mean, low, high), 80 %."""
        if horizon <= 0:
            return 0.0, 0.0, 0.0
        _, mu, sigma, level_sd = self._project(horizon)
        mean = float(np.sum(np.maximum(np.expm1(mu + sigma**2 / 2), 0.0)))
        sd = math.sqrt(level_sd**2 + float(np.mean(sigma**2)) / horizon)
        return mean, mean * math.exp(-Z80 * sd), mean * math.exp(Z80 * sd)


def forecast_period_total(
    timestamps: Sequence[int] | npt.NDArray[np.int64],
    values: Sequence[float] | npt.NDArray[np.float64],
    *,
    period_start_s: int,
    period_end_s: int,
    cadence: Cadence | None = None,
) -> PeriodForecast:
    """The total of ``[period_start_s, period_end_s)`` from a history ending inside it (the last point is the
    last complete step)."""
    ts = np.asarray(timestamps, dtype=np.int64)
    vs = np.asarray(values, dtype=np.float64)
    forecaster = Forecaster(ts, vs, cadence=cadence)
    step = forecaster.cadence.step_s
    inside = ts >= period_start_s
    so_far = float(np.nansum(vs[inside]))
    steps_left = max(0, (period_end_s - forecaster.last_ts - step) // step)
    remaining, low, high = forecaster.total(steps_left)
    return PeriodForecast(so_far, remaining, so_far + remaining, so_far + low, so_far + high, steps_left)
