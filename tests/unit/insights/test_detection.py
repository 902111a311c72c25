"""The anomaly detector on synthetic usage with a daily and weekly rhythm: every injected incident found, and
no more than one false alarm per 30 days of clean series per customer."""

import json

import numpy as np
import pytest

from tally.insights.cadence import Cadence
from tally.insights.detection import AnomalyKind, Detector, Severity, detect
from tally.testing.usage_series import HOUR, START, Incident, hourly_usage

DAYS = 70
TOLERANCE_H = 24
"""An incident counts as found when an anomaly overlaps it or starts within a day after it ends."""

CUSTOMERS = [
    # (events an hour at the daily peak / 1.6, the incidents injected): four customers, each incident twice.
    (
        60.0,
        (
            Incident("SPIKE", 20 * 24 + 15, 1),
            Incident("OUTAGE", 33 * 24 + 9, 6),
            Incident("SHIFT", 52 * 24 + 11, 0),
        ),
    ),
    (
        150.0,
        (
            Incident("SPIKE", 24 * 24 + 3, 1),
            Incident("OUTAGE", 38 * 24 + 13, 6),
            Incident("SILENT", 55 * 24 + 16, 0),
        ),
    ),
    (
        900.0,
        (
            Incident("SPIKE", 17 * 24 + 22, 1),
            Incident("OUTAGE", 29 * 24 + 1, 6),
            Incident("SHIFT", 45 * 24 + 10, 0),
        ),
    ),
    (
        4000.0,
        (
            Incident("SPIKE", 26 * 24 + 12, 1),
            Incident("OUTAGE", 40 * 24 + 18, 6),
            Incident("SILENT", 61 * 24 + 8, 0),
        ),
    ),
]


def _overlaps(anomaly, start_h, end_h):
    a_end = anomaly.end_s if anomaly.end_s is not None else START + DAYS * 24 * HOUR
    return anomaly.start_s < START + end_h * HOUR and a_end > START + start_h * HOUR


@pytest.mark.parametrize("seed", [1, 2])
def test_every_incident_is_found_and_false_alarms_stay_under_one_per_30_days_per_customer(seed):
    rng = np.random.default_rng(seed)
    for base, incidents in CUSTOMERS:
        series = hourly_usage(rng, DAYS, base, incidents=incidents)
        found = detect(series.timestamps, series.values)
        windows = [(i.start, i.start + max(i.hours, 1) + TOLERANCE_H) for i in incidents]
        for incident, (start_h, end_h) in zip(incidents, windows, strict=True):
            assert any(_overlaps(a, start_h, end_h) for a in found), (base, incident, found)
        false = [a for a in found if not any(_overlaps(a, s, e) for s, e in windows)]
        clean = detect(series.timestamps, series.clean)
        judged_months = (DAYS - 7) / 30  # the first week is learned, not judged
        assert len(false) / judged_months <= 1, (base, false)
        assert len(clean) / judged_months <= 1, (base, clean)


def test_incidents_are_named_for_what_they_are():
    rng = np.random.default_rng(5)
    incidents = (
        Incident("SPIKE", 20 * 24 + 14, 1),
        Incident("OUTAGE", 30 * 24 + 10, 6),
        Incident("SILENT", 40 * 24, 0),
    )
    series = hourly_usage(rng, 45, 500.0, incidents=incidents)
    found = detect(series.timestamps, series.values)
    kinds = [(a.kind, (a.start_s - START) // HOUR) for a in found]
    assert (AnomalyKind.SPIKE, 20 * 24 + 14) in kinds
    assert (AnomalyKind.DROP, 30 * 24 + 10) in kinds
    assert (AnomalyKind.SILENCE, 40 * 24) in kinds
    spike = next(a for a in found if a.kind is AnomalyKind.SPIKE)
    assert spike.end_s == spike.start_s + HOUR
    assert spike.expected_low < spike.expected < spike.expected_high < spike.observed
    assert spike.observed / spike.expected == pytest.approx(10, rel=0.3)
    assert "spiked" in spike.reason and "×" in spike.reason
    outage = next(a for a in found if a.kind is AnomalyKind.DROP)
    assert (outage.end_s - outage.start_s) // HOUR == 6
    assert outage.severity is Severity.HIGH
    silence = next(a for a in found if a.kind is AnomalyKind.SILENCE)
    assert silence.end_s is None  # still silent when the series ends
    assert silence.severity is Severity.CRITICAL
    assert "silent" in silence.reason


def test_a_level_shift_is_reported_once_and_becomes_the_new_normal():
    rng = np.random.default_rng(8)
    series = hourly_usage(rng, 60, 800.0, incidents=(Incident("SHIFT", 30 * 24 + 9, 0),))
    found = detect(series.timestamps, series.values)
    assert [a.kind for a in found] == [AnomalyKind.LEVEL_SHIFT]
    [shift] = found
    # The CUSUM dates the change to when its sum last left zero: within hours of the true start.
    assert abs((shift.start_s - START) // HOUR - (30 * 24 + 9)) <= 12
    assert (shift.detected_s - START) // HOUR <= 30 * 24 + 9 + 12
    assert "up" in shift.reason


def test_a_gap_in_the_data_is_unknown_not_an_outage():
    rng = np.random.default_rng(9)
    series = hourly_usage(rng, 30, 300.0)
    keep = np.ones(series.values.size, dtype=bool)
    keep[20 * 24 : 20 * 24 + 18] = False  # eighteen hours with no rows at all
    assert detect(series.timestamps[keep], series.values[keep]) == []


def test_a_detector_stopped_and_restored_from_its_state_carries_on_exactly():
    rng = np.random.default_rng(10)
    series = hourly_usage(
        rng, 40, 200.0, incidents=(Incident("SPIKE", 25 * 24 + 5, 1), Incident("OUTAGE", 30 * 24, 6))
    )
    counts = [True]

    def run(detector, stamps, values):
        return [
            a for ts, v in zip(stamps, values, strict=True) for _, a in detector.step(int(ts), np.array([v]))
        ]

    whole = run(Detector(Cadence(HOUR), 1, counts), series.timestamps, series.values)
    first = Detector(Cadence(HOUR), 1, counts)
    cut = 30 * 24 + 3  # in the middle of the outage
    before = run(first, series.timestamps[:cut], series.values[:cut])
    second = Detector(Cadence(HOUR), 1, counts)
    second.restore(0, json.loads(json.dumps(first.export(0))))
    after = run(second, series.timestamps[cut:], series.values[cut:])
    assert before + after == whole
    assert {a.kind for a in whole} >= {AnomalyKind.SPIKE, AnomalyKind.DROP}


def test_many_series_judged_together_find_what_each_finds_alone():
    rng = np.random.default_rng(11)
    group = [
        hourly_usage(rng, 30, base, incidents=(Incident("SPIKE", 20 * 24 + h, 1),))
        for base, h in ((50.0, 3), (500.0, 13), (5000.0, 20))
    ]
    detector = Detector(Cadence(HOUR), len(group), [True] * len(group))
    together: dict[int, list] = {0: [], 1: [], 2: []}
    for step, ts in enumerate(group[0].timestamps.tolist()):
        for index, anomaly in detector.step(ts, np.array([s.values[step] for s in group])):
            together[index].append(anomaly)
    for index, series in enumerate(group):
        alone = detect(series.timestamps, series.values)
        assert [a.start_s for a in alone] == sorted({a.start_s for a in together[index]})


def test_points_sharing_a_step_add_up_as_counts_and_average_as_levels():
    from tally.insights.cadence import regularize

    stamps = [0, 300, 450, 600, 1200]
    _, counts = regularize(stamps, [1.0, 2.0, 3.0, 4.0, 5.0], Cadence(300))
    _, levels = regularize(stamps, [1.0, 2.0, 3.0, 4.0, 5.0], Cadence(300), summed=False)
    assert counts[:3].tolist() == [1.0, 5.0, 4.0] and np.isnan(counts[3]) and counts[4] == 5.0
    assert levels[:3].tolist() == [1.0, 2.5, 4.0] and np.isnan(levels[3])


def test_a_five_minute_series_is_judged_per_hour_and_a_gap_is_not_a_drop():
    rng = np.random.default_rng(1)
    days = 42
    stamps = START + np.arange(days * 288) * 300
    hour = (stamps % 86_400) / 3600
    weekend = ((stamps // 86_400 + 3) % 7) >= 5
    rate = 20 * (0.4 + np.exp(-(((hour - 15) / 4) ** 2))) * np.where(weekend, 0.6, 1.0)
    burst = slice(30 * 288 + 100, 30 * 288 + 112)  # one hour at 8×, from 08:20
    rate[burst] *= 8
    values = rng.poisson(rate).astype(float)
    keep = np.ones(stamps.size, dtype=bool)
    keep[35 * 288 + 30 : 35 * 288 + 80] = False  # four hours and more without a row
    found = detect(stamps[keep], values[keep])
    assert [(a.kind, (a.start_s - START) // HOUR) for a in found] == [(AnomalyKind.SPIKE, 30 * 24 + 8)]
