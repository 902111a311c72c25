"""The forecaster: the month-end total forecast on day 10 beats seasonal naive on synthetic seasonal usage."""

from datetime import UTC, datetime

import numpy as np
import pytest

from tally.domain.errors import InvalidArgument
from tally.insights.forecasting import Forecaster, forecast_period_total
from tally.testing.usage_series import DAY, START, daily_totals, hourly_usage

MONTHS = [(datetime(2026, m, 1, tzinfo=UTC), datetime(2026, m + 1, 1, tzinfo=UTC)) for m in (3, 4, 5, 6)]


def seasonal_naive(month_so_far, remaining):
    """Each remaining day is the same weekday of the last week."""
    last_week = list(month_so_far[-7:])
    return float(month_so_far.sum()) + sum(last_week[i % 7] for i in range(remaining))


def test_the_month_end_total_forecast_on_day_10_beats_seasonal_naive():
    rng = np.random.default_rng(21)
    ours, naive = [], []
    for _ in range(12):
        base = float(np.exp(rng.uniform(np.log(50), np.log(5000))))
        days = daily_totals(hourly_usage(rng, 182, base, drift_per_month=float(rng.uniform(-0.02, 0.08))))
        stamps = START + np.arange(days.size) * DAY
        for start, end in MONTHS:
            first, last = (int(start.timestamp()) - START) // DAY, (int(end.timestamp()) - START) // DAY
            cut = first + 9
            truth = float(days[first:last].sum())
            found = forecast_period_total(
                stamps[:cut],
                days[:cut],
                period_start_s=int(start.timestamp()),
                period_end_s=int(end.timestamp()),
            )
            assert found.so_far == pytest.approx(float(days[first:cut].sum()))
            assert found.low <= found.total <= found.high
            ours.append(abs(found.total - truth) / truth)
            naive.append(abs(seasonal_naive(days[first:cut], last - cut) - truth) / truth)
    assert np.mean(ours) < np.mean(naive)


def test_a_forecast_follows_the_weekly_rhythm_and_widens_with_its_noise():
    rng = np.random.default_rng(4)
    days = daily_totals(hourly_usage(rng, 70, 400.0, drift_per_month=0.0))
    stamps = START + np.arange(days.size) * DAY
    points = Forecaster(stamps, days).forecast(14)
    assert [p.ts for p in points] == [int(stamps[-1]) + DAY * (i + 1) for i in range(14)]
    weekday = (np.array([p.ts for p in points]) // DAY + 3) % 7
    values = np.array([p.value for p in points])
    # Weekends run at 0.45 of weekdays in the synthetic usage; the forecast keeps that ratio.
    assert values[weekday >= 5].mean() / values[weekday < 5].mean() == pytest.approx(0.45, abs=0.05)
    assert all(p.low < p.value < p.high for p in points)


def test_a_horizon_must_be_positive_and_history_needs_two_points():
    with pytest.raises(InvalidArgument) as caught:
        Forecaster([START, START + DAY], [1.0, 2.0]).forecast(0)
    assert caught.value.violations[0].field == "horizon"
    with pytest.raises(InvalidArgument):
        Forecaster([START], [1.0])
