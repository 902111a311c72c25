"""The rhythm of a usage series (pure): its step, and where each instant falls in the day and the week."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tally.domain.errors import InvalidArgument

DAY_S = 86_400
WEEK_S = 7 * DAY_S
_EPOCH_WEEKDAY = 3
"""1970-01-01 was a Thursday: Monday is weekday 0, so the epoch's day number is shifted by three."""


@dataclass(frozen=True, slots=True)
class Cadence:
    """A series sampled every ``step_s`` seconds, aligned to UTC."""

    step_s: int

    def __post_init__(self) -> None:
        if self.step_s <= 0:
            raise InvalidArgument.field("step_s", f"must be a positive number of seconds, got {self.step_s}")

    @property
    def per_day(self) -> int:
        """Points per day when a day holds whole steps and more than one; 0: no rhythm inside a day."""
        if self.step_s >= DAY_S or DAY_S % self.step_s:
            return 0
        return DAY_S // self.step_s

    @property
    def has_week(self) -> bool:
        """True when the week can be modelled: steps of at most a day that divide it."""
        return self.step_s <= DAY_S and WEEK_S % self.step_s == 0

    @property
    def week_step_s(self) -> int:
        """The resolution of the weekly profile: the series' own step, but never finer than an hour."""
        return max(self.step_s, 3600)

    @property
    def per_week(self) -> int:
        """Phases of the weekly profile kept per series (hours of the week at most); 0 without one."""
        if not self.has_week or self.per_day == 0 or DAY_S % self.week_step_s:
            return 0
        return WEEK_S // self.week_step_s

    @property
    def per_week_phase(self) -> int:
        """Steps in one visit of a weekly phase (12 for a 5-minute series, 1 from hourly up)."""
        return self.week_step_s // self.step_s

    def day_phase(self, ts: int) -> int:
        return (ts % DAY_S) // self.step_s if self.per_day else 0

    @staticmethod
    def weekday(ts: int) -> int:
        return (ts // DAY_S + _EPOCH_WEEKDAY) % 7

    def week_phase(self, ts: int) -> int:
        if not self.per_week:
            return 0
        return self.weekday(ts) * (DAY_S // self.week_step_s) + (ts % DAY_S) // self.week_step_s

    def points(self, seconds: float) -> int:
        """How many steps ``seconds`` spans, at least one."""
        return max(1, round(seconds / self.step_s))


def infer_cadence(timestamps: Sequence[int] | npt.NDArray[np.int64]) -> Cadence:
    """The step of a series from its timestamps (seconds): the most common gap, so gaps do not mislead."""
    ts = np.asarray(timestamps, dtype=np.int64)
    if ts.size < 2:
        raise InvalidArgument.field("timestamps", "need at least two points to know the series' step")
    gaps = np.diff(ts)
    if (gaps <= 0).any():
        index = int(np.argmax(gaps <= 0)) + 1
        raise InvalidArgument.field(
            f"timestamps[{index}]", "must be later than the one before (sort the rows, remove repeats)"
        )
    values, counts = np.unique(gaps, return_counts=True)
    return Cadence(int(values[int(np.argmax(counts))]))


def regularize(
    timestamps: Sequence[int] | npt.NDArray[np.int64],
    values: Sequence[float] | npt.NDArray[np.float64],
    cadence: Cadence,
    *,
    summed: bool = True,
    per_step: int = 1,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """The series on its regular grid: a missing step becomes NaN (unknown, not zero); points falling in the
    same step are summed (usage counts add up) or, with ``summed`` False, averaged (levels, rates).

    ``per_step`` is how many points a step holds when the series is finer than the grid (12 five-minute
    points an hour): a step missing some of them is scaled up to a full one, and one missing half or more
    is unknown, so a gap in the data never reads as a drop."""
    ts = np.asarray(timestamps, dtype=np.int64)
    vs = np.asarray(values, dtype=np.float64)
    start = int(ts[0]) - int(ts[0]) % cadence.step_s
    slots = (ts - start) // cadence.step_s
    grid = np.zeros(int(slots[-1]) + 1)
    np.add.at(grid, slots, vs)
    hits = np.zeros(grid.size)
    np.add.at(hits, slots, 1.0)
    if not summed:
        grid = np.divide(grid, hits, out=grid, where=hits > 0)
    elif per_step > 1:
        grid = np.divide(grid * per_step, hits, out=grid, where=hits > 0)
    grid[hits < max(1, per_step / 2)] = np.nan
    return start + np.arange(grid.size, dtype=np.int64) * cadence.step_s, grid
