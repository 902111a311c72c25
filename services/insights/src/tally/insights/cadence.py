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

WEEKLY_PROFILE_LIMIT = 400
"""Phases of the week above which a per-phase weekly profile is not kept (5-minute series would need 2,016,
each seen once a week): the day profile plus a weekday offset carry the weekly rhythm instead."""


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
    def per_week(self) -> int:
        """Phases of the weekly profile kept per series; 0 when none is (see WEEKLY_PROFILE_LIMIT)."""
        if not self.has_week or self.per_day == 0:
            return 0
        phases = WEEK_S // self.step_s
        return phases if phases <= WEEKLY_PROFILE_LIMIT else 0

    def day_phase(self, ts: int) -> int:
        return (ts % DAY_S) // self.step_s if self.per_day else 0

    @staticmethod
    def weekday(ts: int) -> int:
        return (ts // DAY_S + _EPOCH_WEEKDAY) % 7

    def week_phase(self, ts: int) -> int:
        return self.weekday(ts) * self.per_day + self.day_phase(ts) if self.per_week else 0

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
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """The series on its regular grid: a missing step becomes NaN (unknown, not zero); an off-grid point
    joins the step it falls in (summed, as usage is)."""
    ts = np.asarray(timestamps, dtype=np.int64)
    vs = np.asarray(values, dtype=np.float64)
    start = int(ts[0]) - int(ts[0]) % cadence.step_s
    slots = (ts - start) // cadence.step_s
    grid = np.zeros(int(slots[-1]) + 1)
    np.add.at(grid, slots, vs)
    seen = np.zeros(grid.size, dtype=bool)
    seen[slots] = True
    grid[~seen] = np.nan
    return start + np.arange(grid.size, dtype=np.int64) * cadence.step_s, grid
