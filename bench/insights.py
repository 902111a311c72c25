"""Benchmark: the insights detector and forecaster against the baselines a reader would try first.

1. Anomalies: precision and recall, per incident kind, on synthetic hourly usage (daily and weekly rhythm,
   drift, overdispersed noise) with injected incidents (a 10× spike, 6 hours at zero, a 40 % level shift, a
   silent producer), and false alarms per 30 days on the same series without incidents; beside a rolling
   Gaussian (mean and standard deviation of the trailing week, |z| > 3), run on the same series.
2. Forecast: MAPE of the month-end total forecast on day 10, beside seasonal naive (each remaining day is
   the same weekday of last week) and, when it is installed, statsforecast's AutoETS on the same history.
3. Speed: the time to score 10,000 customer × meter hourly series over 35 days (one vectorised pass), and
   the revenue forecast's latency per subscription (three usage charges, peers answered from memory).

Prints one JSON line per measurement, then readable lines.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from tally.insights.cadence import Cadence
from tally.insights.detection import Anomaly, Detector, detect
from tally.insights.forecasting import forecast_period_total
from tally.testing.usage_series import DAY, HOUR, START, Incident, UsageSeries, daily_totals, hourly_usage

KINDS = ("SPIKE", "OUTAGE", "SHIFT", "SILENT")
TOLERANCE_H = 24
"""An alarm within a day after an incident's end still finds it (a level shift has no end: a day after start)."""


def incident_series(rng: np.random.Generator, count: int, days: int) -> list[UsageSeries]:
    """``count`` series, each with one incident of each kind placed at random after the first two weeks."""
    found = []
    for n in range(count):
        base = float(np.exp(rng.uniform(np.log(20), np.log(3000))))
        spike = int(rng.integers(15 * 24, 30 * 24))
        outage = int(rng.integers(32 * 24, 45 * 24))
        if n % 2:
            last = Incident("SHIFT", int(rng.integers(50 * 24, 60 * 24)), 0)
        else:
            last = Incident("SILENT", int(rng.integers(50 * 24, 60 * 24)), 0)
        incidents = (Incident("SPIKE", spike, 1), Incident("OUTAGE", outage, 6), last)
        found.append(hourly_usage(rng, days, base, incidents=incidents))
    return found


def windows(series: UsageSeries) -> list[tuple[str, int, int]]:
    return [
        (i.kind, START + i.start * HOUR, START + (i.start + max(i.hours, 1) + TOLERANCE_H) * HOUR)
        for i in series.incidents
    ]


def score(
    found: Sequence[Sequence[tuple[int, int]]], series: Sequence[UsageSeries]
) -> tuple[dict[str, float], float, int, int]:
    """Recall per kind, precision, alarms, true alarms; each alarm is (start_s, end_s)."""
    hit = dict.fromkeys(KINDS, 0)
    total = dict.fromkeys(KINDS, 0)
    alarms = true = 0
    for spans, s in zip(found, series, strict=True):
        truth = windows(s)
        for kind, start, end in truth:
            total[kind] += 1
            if any(a_start < end and a_end > start for a_start, a_end in spans):
                hit[kind] += 1
        for a_start, a_end in spans:
            alarms += 1
            true += any(a_start < end and a_end > start for _, start, end in truth)
    recall = {k: hit[k] / total[k] for k in KINDS if total[k]}
    return recall, (true / alarms if alarms else 1.0), alarms, true


def spans_of(anomalies: Sequence[Anomaly], last_s: int) -> list[tuple[int, int]]:
    return [(a.start_s, a.end_s if a.end_s is not None else last_s) for a in anomalies]


def rolling_gaussian(
    timestamps: npt.NDArray[np.int64], values: npt.NDArray[np.float64], window: int = 168, z: float = 3.0
) -> list[tuple[int, int]]:
    """The baseline: a point more than ``z`` trailing standard deviations from the trailing mean; alarms on
    consecutive points (up to one normal point between) merged into one, as the detector does."""
    kernel = np.ones(window)
    sums = np.convolve(values, kernel)[: values.size]
    squares = np.convolve(values**2, kernel)[: values.size]
    mean = np.empty_like(values)
    std = np.empty_like(values)
    mean[window:] = sums[window - 1 : -1] / window
    var = squares[window - 1 : -1] / window - mean[window:] ** 2
    std[window:] = np.sqrt(np.maximum(var, 1e-9))
    flagged = np.zeros(values.size, dtype=bool)
    flagged[window:] = np.abs(values[window:] - mean[window:]) > z * std[window:]
    spans: list[tuple[int, int]] = []
    step = int(timestamps[1] - timestamps[0])
    for index in np.flatnonzero(flagged).tolist():
        ts = int(timestamps[index])
        if spans and ts - spans[-1][1] <= step:
            spans[-1] = (spans[-1][0], ts + step)
        else:
            spans.append((ts, ts + step))
    return spans


def bench_anomalies(seed: int, count: int, days: int) -> dict[str, object]:
    rng = np.random.default_rng(seed)
    series = incident_series(rng, count, days)
    last = START + days * DAY
    ours = [spans_of(detect(s.timestamps, s.values), last) for s in series]
    gauss = [rolling_gaussian(s.timestamps, s.values) for s in series]
    clean = [UsageSeries(s.timestamps, s.clean if s.clean is not None else s.values) for s in series]
    ours_clean = [spans_of(detect(s.timestamps, s.values), last) for s in clean]
    gauss_clean = [rolling_gaussian(s.timestamps, s.values) for s in clean]
    judged_months = count * (days - 7) / 30  # neither judges its first week
    report: dict[str, object] = {"series": count, "days": days}
    for name, found, quiet in (("insights", ours, ours_clean), ("rolling_gaussian", gauss, gauss_clean)):
        recall, precision, alarms, true_alarms = score(found, series)
        report[name] = {
            "recall": recall,
            "recall_all": sum(recall.values()) / len(recall),
            "precision": precision,
            "alarms": alarms,
            "true_alarms": true_alarms,
            "false_alarms_per_30_days_clean": sum(len(f) for f in quiet) / judged_months,
        }
    return report


def seasonal_naive_total(history: npt.NDArray[np.float64], remaining: int) -> float:
    """Month-end total: days so far plus each remaining day copied from the same weekday a week before."""
    tail = list(history[-7:])
    return float(history.sum()) + sum(tail[i % 7] for i in range(remaining))


def bench_forecast(seed: int, count: int) -> dict[str, object]:
    """Forecast on day 10 of each month the month's total, from all the days before; compare to the truth."""
    rng = np.random.default_rng(seed + 1)
    ours: list[float] = []
    naive: list[float] = []
    ets: list[float] = []
    latency: list[float] = []
    ets_model = _statsforecast()
    months = [(datetime(2026, m, 1, tzinfo=UTC), datetime(2026, m + 1, 1, tzinfo=UTC)) for m in (3, 4, 5, 6)]
    for _ in range(count):
        base = float(np.exp(rng.uniform(np.log(0.2), np.log(5000))))
        series = hourly_usage(rng, 182, base, drift_per_month=float(rng.uniform(-0.02, 0.08)))
        days = daily_totals(series)
        day_ts = START + np.arange(days.size, dtype=np.int64) * DAY
        for start, end in months:
            first = (int(start.timestamp()) - START) // DAY
            last = (int(end.timestamp()) - START) // DAY
            cut = first + 9  # day 10: nine whole days of the month are known
            truth = float(days[first:last].sum())
            started = time.perf_counter()
            forecast = forecast_period_total(
                day_ts[:cut],
                days[:cut],
                period_start_s=int(start.timestamp()),
                period_end_s=int(end.timestamp()),
            )
            latency.append(time.perf_counter() - started)
            ours.append(abs(forecast.total - truth) / truth)
            naive.append(abs(seasonal_naive_total(days[first:cut], last - cut) - truth) / truth)
            if ets_model is not None:
                ahead = ets_model(days[:cut], last - cut)
                ets.append(abs(float(days[first:cut].sum()) + ahead - truth) / truth)
    report: dict[str, object] = {
        "forecasts": len(ours),
        "mape_insights": statistics.fmean(ours) * 100,
        "mape_seasonal_naive": statistics.fmean(naive) * 100,
        "latency_ms_median": statistics.median(latency) * 1000,
    }
    if ets:
        report["mape_statsforecast_autoets"] = statistics.fmean(ets) * 100
    return report


def _statsforecast() -> Callable[[npt.NDArray[np.float64], int], float] | None:
    try:
        from statsforecast.models import AutoETS
    except ImportError:
        return None

    def ahead(history: npt.NDArray[np.float64], horizon: int) -> float:
        model = AutoETS(season_length=7)
        return float(np.sum(model.forecast(y=history, h=horizon)["mean"]))

    return ahead


def bench_scoring(series_count: int, days: int) -> dict[str, object]:
    """Score ``series_count`` hourly series over ``days`` in one vectorised detector, as a scan does."""
    rng = np.random.default_rng(5)
    hours = days * 24
    base = np.exp(rng.uniform(np.log(5), np.log(5000), size=series_count))
    hour = np.arange(hours)
    from tally.testing.usage_series import shape

    rhythm = shape(hour)
    timings = []
    for _ in range(3):
        values = rng.poisson(base[None, :] * rhythm[:, None]).astype(np.float64)
        detector = Detector(Cadence(HOUR), series_count, np.ones(series_count, dtype=bool))
        started = time.perf_counter()
        alarms = 0
        for t in range(hours):
            alarms += len(detector.step(START + t * HOUR, values[t]))
        timings.append(time.perf_counter() - started)
    return {"series": series_count, "points_per_series": hours, "seconds_median": statistics.median(timings)}


def bench_subscription_forecasts(count: int, charges: int = 3) -> dict[str, object]:
    """ForecastRevenue's use case end to end (terms → daily usage → forecasts → priced months) for ``count``
    subscriptions of ``charges`` usage charges each, its peers answered from memory: the latency per
    subscription without the network."""
    import asyncio

    from tally.api.catalog.v1 import catalog_service_pb2 as cat
    from tally.api.common.v1 import period_pb2
    from tally.insights.forecasts import RevenueForecaster
    from tally.mesh.wire import timestamp_to_wire

    now = datetime(2026, 6, 10, tzinfo=UTC)
    rng = np.random.default_rng(3)
    histories = {
        (f"c{n}", f"m{k}"): daily_totals(hourly_usage(rng, 91, float(rng.uniform(5, 500))))
        for n in range(count)
        for k in range(charges)
    }
    tiers = [cat.Tier(up_to="1000", unit_price="0.10"), cat.Tier(unit_price="0.05")]
    terms = cat.EffectiveTerms(
        currency="USD",
        billing_period=period_pb2.Period(
            start=timestamp_to_wire(datetime(2026, 6, 1, tzinfo=UTC)),
            end=timestamp_to_wire(datetime(2026, 7, 1, tzinfo=UTC)),
        ),
        recurring_fees=[
            cat.Charge(id="fee", name="Fee", price=cat.Price(currency="USD", flat=cat.FlatPrice(amount="49")))
        ],
        usage_charges=[
            cat.Charge(
                id=f"u{k}",
                name=f"Usage {k}",
                price=cat.Price(currency="USD", meter_id=f"m{k}", graduated=cat.GraduatedPrice(tiers=tiers)),
            )
            for k in range(charges)
        ],
    )

    class Catalog:
        async def customers(self):
            return [cat.Customer(id=f"c{n}", external_id=f"c{n}") for n in range(count)]

        async def subscriptions(self, customer_id=""):
            for n in range(count):
                yield cat.Subscription(
                    id=f"s{n}",
                    customer_id=f"c{n}",
                    status=cat.SUBSCRIPTION_STATUS_ACTIVE,
                    start_at=timestamp_to_wire(datetime(2026, 1, 1, tzinfo=UTC)),
                    billing_cycle=cat.BILLING_CYCLE_MONTHLY,
                )

        async def terms(self, lookups):
            found = []
            for subscription_id, _ in lookups:
                one = cat.EffectiveTerms()
                one.CopyFrom(terms)
                one.subscription_id, one.customer_id = subscription_id, "c" + subscription_id[1:]
                found.append(one)
            return found

        async def subscription(self, subscription_id):
            raise NotImplementedError

    class Metering:
        async def daily(self, queries):
            out = []
            for customer, meter, start, _ in queries:
                values = histories[(customer, meter)]
                out.append([(start + timedelta(days=d), float(v)) for d, v in enumerate(values)])
            return out

        async def values(self, *args):
            return []

        async def quantities(self, queries):
            return [{} for _ in queries]

    forecaster = RevenueForecaster(Catalog(), Metering())
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        outlook = asyncio.run(forecaster.forecast("", 3, now))
        timings.append((time.perf_counter() - started) / count)
        assert len(outlook.customers) == count
    return {
        "subscriptions": count,
        "usage_charges": charges,
        "ms_per_subscription": statistics.median(timings) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=60)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--forecast-series", type=int, default=40)
    parser.add_argument("--score-series", type=int, default=10_000)
    parser.add_argument("--subscriptions", type=int, default=50)
    args = parser.parse_args()
    anomalies = bench_anomalies(11, args.series, args.days)
    print(json.dumps({"bench": "insights_anomalies", **anomalies}))
    forecast = bench_forecast(11, args.forecast_series)
    print(json.dumps({"bench": "insights_forecast", **forecast}))
    scoring = bench_scoring(args.score_series, 35)
    print(json.dumps({"bench": "insights_scoring", **scoring}))
    per_subscription = bench_subscription_forecasts(args.subscriptions)
    print(json.dumps({"bench": "insights_subscription_forecast", **per_subscription}))
    for name in ("insights", "rolling_gaussian"):
        r = anomalies[name]
        assert isinstance(r, dict)
        recall = ", ".join(f"{k} {v:.0%}" for k, v in r["recall"].items())
        print(
            f"anomalies {name:<16} recall {r['recall_all']:.0%} ({recall}), precision {r['precision']:.0%}, "
            f"{r['false_alarms_per_30_days_clean']:.2f} false alarms per 30 days of clean series"
        )
    extra = (
        f", statsforecast AutoETS {forecast['mape_statsforecast_autoets']:.2f} %"
        if "mape_statsforecast_autoets" in forecast
        else ""
    )
    print(
        f"forecast month-end total on day 10: MAPE {forecast['mape_insights']:.2f} % vs seasonal naive "
        f"{forecast['mape_seasonal_naive']:.2f} %{extra}; {forecast['latency_ms_median']:.2f} ms per forecast"
    )
    print(
        f"scoring {scoring['series']:,} series × {scoring['points_per_series']} hours: "
        f"{scoring['seconds_median']:.2f} s (median of 3)"
    )
    print(
        f"revenue forecast: {per_subscription['ms_per_subscription']:.0f} ms per subscription "
        f"({per_subscription['usage_charges']} usage charges, 3 months, peers in memory)"
    )


if __name__ == "__main__":
    main()
