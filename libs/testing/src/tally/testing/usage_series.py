"""Synthetic usage series for the insights tests and benchmarks: hourly counts with a daily and a weekly
rhythm, slow drift, overdispersed noise, and incidents injected where the caller says (with their truth)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

HOUR = 3600
DAY = 24 * HOUR
START = 1_767_225_600
"""2026-01-01T00:00:00Z, a Thursday: series start on a day boundary so day and week phases are whole."""


@dataclass(frozen=True)
class Incident:
    """One injected incident, in hours from the series' start: [start, end)."""

    kind: str
    """SPIKE (×10), OUTAGE (zero), SHIFT (level × 1.4 to the end), SILENT (zero to the end)."""
    start: int
    hours: int


@dataclass
class UsageSeries:
    timestamps: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]
    incidents: list[Incident] = field(default_factory=list)
    clean: npt.NDArray[np.float64] | None = None
    """The same series without incidents."""


def shape(hours: npt.NDArray[np.int64], weekend_factor: float = 0.45) -> npt.NDArray[np.float64]:
    """The usual rhythm: busy working hours, quiet nights, quieter weekends (multiplicative, mean near 1)."""
    hour_of_day = (hours % 24).astype(np.float64)
    day = 0.35 + 1.25 * np.exp(-(((hour_of_day - 14.0) / 4.5) ** 2))
    weekday = ((hours // 24) + 3) % 7  # START is a Thursday; Monday = 0
    week = np.where(weekday >= 5, weekend_factor, 1.0)
    return day * week


def hourly_usage(
    rng: np.random.Generator,
    days: int,
    base: float,
    *,
    drift_per_month: float = 0.03,
    overdispersion: float = 0.08,
    incidents: tuple[Incident, ...] = (),
) -> UsageSeries:
    """``days`` of hourly counts around ``base`` events an hour, with ``incidents`` injected."""
    hours = np.arange(days * 24, dtype=np.int64)
    mean = base * shape(hours) * (1.0 + drift_per_month * hours / (30 * 24))
    # Gamma-Poisson: real usage is burstier than Poisson alone.
    noisy = mean * rng.gamma(1.0 / overdispersion**2, overdispersion**2, size=mean.size)
    clean = rng.poisson(noisy).astype(np.float64)
    values = clean.copy()
    for incident in incidents:
        span = slice(incident.start, incident.start + incident.hours)
        if incident.kind == "SPIKE":
            values[span] = rng.poisson(noisy[span] * 10.0)
        elif incident.kind == "OUTAGE":
            values[span] = 0.0
        elif incident.kind == "SHIFT":
            values[incident.start :] = rng.poisson(noisy[incident.start :] * 1.4)
        elif incident.kind == "SILENT":
            values[incident.start :] = 0.0
        else:
            raise ValueError(f"unknown incident kind {incident.kind!r}")
    return UsageSeries(START + hours * HOUR, values, list(incidents), clean)


def daily_totals(series: UsageSeries) -> npt.NDArray[np.float64]:
    """The hourly values summed per day."""
    return series.values.reshape(-1, 24).sum(axis=1)
