"""The expected value of usage (pure): a robust seasonal state-space model, stepped for many series at once.

Each series is modelled on a log scale (``log1p``), where a tenfold spike, a 40 % level shift and a weekend dip
are each one additive offset whatever the series' size:

    expected(t) = level + trend + day[hour of day] + weekday[day of week] + week[hour of week]

updated after each observation by its error, clipped (Huber) so one spike cannot drag the model, in the
error-correction form of Holt-Winters. A component seen for the first times learns at 1/(visits+1), so a new
series starts from its own running means instead of from zero; afterwards each learns at its own rate (the
level within about a day, the profiles over about a week). The noise is the sum of a learned spread and,
for counts, the Poisson noise of the expected count (λ/(1+λ)² on the log scale), so a quiet night with two
events an hour is not judged by the spread of a busy afternoon.

All state is arrays over a batch of series sharing one clock: one step costs a few dozen vector operations
whatever the batch size, which is what lets ten thousand customer × meter series be scored in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from tally.insights.cadence import Cadence

Array = npt.NDArray[np.float64]

CLIP_SIGMAS = 3.0
"""Errors beyond this many standard deviations teach the model no more than this much (Huber)."""
WINSOR_SIGMAS = 6.0
"""Errors beyond this many standard deviations teach the noise estimate no more than this much."""
TREND_NOISE = 0.1
"""The noise (log scale) at which the trend learns at half its rate."""
MIN_SIGMA = 0.02
"""The smallest spread on the log scale (2 %): a perfectly smooth history must not make 3 % an alarm."""


def _rate(half_life_points: float) -> float:
    return 1.0 - 0.5 ** (1.0 / max(half_life_points, 1.0))


@dataclass(frozen=True, slots=True)
class ModelRates:
    """How fast each component follows the data; half-lives in days of the series' own clock."""

    level_days: float = 2.0
    """The level's half-life: a slow drift is followed, a burst of a few hours barely moves it."""
    day_profile_visits: float = 7.0
    """The day profile's half-life, in visits of each hour of the day (one visit a day)."""
    weekday_days: float = 3.0
    """The weekday offsets' half-life."""
    week_profile_visits: float = 5.0
    """The week profile's half-life, in visits of each hour of the week (one visit a week)."""
    trend: float = 0.0
    """Share of each error the trend takes (0: no trend, as the detector runs it)."""
    trend_damping: float = 0.98
    """Per-step damping of the trend, so a forecast's slope flattens out."""
    noise_days: float = 3.0
    """The learned spread's half-life."""


@dataclass
class SeasonalModel:
    """The state of ``size`` series that share one clock (a regular grid of ``cadence``)."""

    cadence: Cadence
    size: int
    counts: npt.NDArray[np.bool_]
    """Per series: True when its values are counts, so Poisson noise is part of the expected spread."""
    rates: ModelRates = field(default_factory=ModelRates)
    level: Array = field(init=False)
    trend: Array = field(init=False)
    spread: Array = field(init=False)
    """The learned variance on the log scale, beyond the Poisson noise."""
    observed: Array = field(init=False)
    """Observations learned from, per series (a count, so the first ones are averaged, not smoothed)."""
    day: Array = field(init=False)
    day_seen: Array = field(init=False)
    weekday: Array = field(init=False)
    weekday_seen: Array = field(init=False)
    week: Array = field(init=False)
    week_seen: Array = field(init=False)

    def __post_init__(self) -> None:
        n = self.size
        per_day = max(self.cadence.per_day, 1)
        self.level = np.zeros(n)
        self.trend = np.zeros(n)
        self.spread = np.zeros(n)
        self.observed = np.zeros(n)
        self.day = np.zeros((n, per_day))
        self.day_seen = np.zeros((n, per_day))
        self.weekday = np.zeros((n, 7))
        self.weekday_seen = np.zeros((n, 7))
        self.week = np.zeros((n, max(self.cadence.per_week, 1)))
        self.week_seen = np.zeros((n, max(self.cadence.per_week, 1)))
        points_per_day = self.cadence.points(86_400)
        r = self.rates
        self._a_level = _rate(r.level_days * points_per_day)
        self._a_day = _rate(r.day_profile_visits) if self.cadence.per_day else 0.0
        self._a_weekday = _rate(r.weekday_days * points_per_day) if self.cadence.has_week else 0.0
        # A weekly phase is an hour of the week at the finest: a 5-minute series visits it twelve times a week.
        self._a_week = (
            _rate(r.week_profile_visits * self.cadence.per_week_phase) if self.cadence.per_week else 0.0
        )
        self._a_noise = _rate(r.noise_days * points_per_day)

    @property
    def level_rate(self) -> float:
        """The share of each error the level takes once warmed up."""
        return self._a_level

    # -- reading ------------------------------------------------------------------------------------------
    def _phases(self, ts: int) -> tuple[int, int, int]:
        c = self.cadence
        return c.day_phase(ts), c.weekday(ts), c.week_phase(ts)

    def seasonal(self, ts: int) -> Array:
        """The seasonal offset of every series at ``ts``."""
        d, w, h = self._phases(ts)
        offset = self.day[:, d].copy()
        if self.cadence.has_week:
            offset += self.weekday[:, w]
        if self.cadence.per_week:
            offset += self.week[:, h]
        return offset

    def expected(self, ts: int) -> Array:
        """Expected log1p(value) of every series at ``ts``, the next step."""
        return self.level + self.trend + self.seasonal(ts)

    def sigma(self, expected: Array) -> Array:
        """The expected spread of the log value around ``expected``."""
        lam = np.expm1(np.clip(expected, 0.0, 50.0))
        poisson = np.where(self.counts, lam / (1.0 + lam) ** 2, 0.0)
        return np.sqrt(self.spread + poisson + MIN_SIGMA**2)

    def warm(self) -> npt.NDArray[np.bool_]:
        """Series that have seen enough to judge: two weeks with a weekly profile (each hour of the week seen
        twice, and its noise learned once), else two days; two weeks of days for a daily series."""
        c = self.cadence
        needed = c.points(14 * 86_400) if c.per_week else c.points(2 * 86_400)
        if c.step_s >= 86_400:
            needed = 14
        return self.observed >= needed

    # -- learning -----------------------------------------------------------------------------------------
    def step(
        self,
        ts: int,
        z: Array,
        learn: npt.NDArray[np.bool_],
        expected: Array,
        sigma: Array,
        hold_level: npt.NDArray[np.bool_] | None = None,
    ) -> None:
        """Move every series one step: learn from ``z`` (log1p values) where ``learn``; NaN is never learned.
        Where ``hold_level``, the level keeps still (a suspected shift is being tested)."""
        learn = learn & ~np.isnan(z)
        self.level += self.trend
        self.trend *= self.rates.trend_damping
        if not learn.any():
            return
        idx = np.flatnonzero(learn)
        error = z[idx] - expected[idx]
        s = sigma[idx]
        d, w, h = self._phases(ts)
        # An error at a phase never seen before is the phase itself, not noise: it is learned whole (never
        # clipped) and teaches the profile, not the spread (or a first week would look like a week of noise).
        if self.cadence.per_week:
            familiar = self.week_seen[idx, h] >= 1
        elif self.cadence.per_day:
            familiar = self.day_seen[idx, d] >= 1
        else:
            familiar = self.weekday_seen[idx, w] >= 1
        seasoned = (self.observed[idx] >= self.cadence.points(86_400)) & familiar
        residual = np.where(seasoned, np.clip(error, -CLIP_SIGMAS * s, CLIP_SIGMAS * s), error)

        if self.cadence.per_week:
            # The hour of the week is learned first: a weekly rhythm (quiet weekends, a busy Monday morning)
            # belongs to it, not to the level, which would otherwise swing with every weekend.
            residual = self._absorb(self.week, self.week_seen, idx, h, residual, self._a_week)
        obs = self.observed[idx]
        a = np.maximum(self._a_level, 1.0 / (obs + 1.0))
        if hold_level is not None:
            a = np.where(hold_level[idx], 0.0, a)
        change = a * residual
        self.level[idx] += change
        if self.rates.trend:
            # A slope read off noisy data is mostly noise: the trend learns in proportion to how clearly the
            # series shows one (full rate below 10 % noise, a 26th of it at 50 %).
            trust = 1.0 / (1.0 + (s / TREND_NOISE) ** 2)
            self.trend[idx] += np.where(seasoned, self.rates.trend * trust * residual, 0.0)
        residual = residual - change

        if self.cadence.per_day:
            residual = self._absorb(self.day, self.day_seen, idx, d, residual, self._a_day)
        if self.cadence.has_week:
            self._absorb(self.weekday, self.weekday_seen, idx, w, residual, self._a_weekday)

        lam = np.expm1(np.clip(expected[idx], 0.0, 50.0))
        poisson = np.where(self.counts[idx], lam / (1.0 + lam) ** 2, 0.0)
        bounded = np.minimum(error**2, (WINSOR_SIGMAS * s) ** 2)
        excess = np.maximum(bounded - poisson, 0.0)
        rate = np.maximum(self._a_noise, 1.0 / (obs + 1.0))
        self.spread[idx] += np.where(familiar, rate * (excess - self.spread[idx]), 0.0)
        self.observed[idx] = obs + 1.0

    @staticmethod
    def _absorb(
        profile: Array, seen: Array, idx: npt.NDArray[np.intp], phase: int, residual: Array, rate: float
    ) -> Array:
        a = np.maximum(rate, 1.0 / (seen[idx, phase] + 1.0))
        change = a * residual
        profile[idx, phase] += change
        seen[idx, phase] += 1.0
        return residual - change

    def shift_level(self, idx: npt.NDArray[np.intp], by: Array) -> None:
        """Accept a new level for series ``idx`` (a confirmed level shift): the old one no longer applies."""
        self.level[idx] += by
        self.trend[idx] = 0.0

    # -- state as plain data (kept between scans) ---------------------------------------------------------
    def export(self, index: int) -> dict[str, list[float]]:
        """Series ``index``'s state as lists of floats (JSON-ready)."""
        return {name: np.atleast_1d(getattr(self, name)[index]).tolist() for name in _STATE}

    def restore(self, index: int, state: dict[str, list[float]]) -> None:
        """Put back what ``export`` gave, into series ``index`` (shapes must match this cadence)."""
        for name in _STATE:
            target = getattr(self, name)
            values = np.asarray(state[name], dtype=np.float64)
            if target.ndim == 1:
                target[index] = values[0]
            elif values.shape == target[index].shape:
                target[index] = values


_STATE = (
    "level",
    "trend",
    "spread",
    "observed",
    "day",
    "day_seen",
    "weekday",
    "weekday_seen",
    "week",
    "week_seen",
)
