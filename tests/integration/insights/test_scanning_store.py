"""Scans over the real store (SQLite and PostgreSQL): series state carried between scans, each anomaly kept
once with one AnomalyDetected per kind it takes, the usage-activity projection applied once per message."""

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import MetaData, select

import tally.insights
from tally.insights.activity import BatchActivity
from tally.insights.scanning import HOURLY, MeterInfo, ScanOutcome, SeriesUpdate, StaleScan, UsageScan
from tally.insights.server import anomaly_event
from tally.insights.store import ActivityStore, SeriesStore, usage_series
from tally.persistence.engine import create_engine
from tally.persistence.migrations import upgrade
from tally.persistence.outbox import outbox_table
from tally.testing.usage_series import START, Incident, hourly_usage

MIGRATIONS = Path(tally.insights.__file__).resolve().parents[3] / "migrations"
OUTBOX = outbox_table(MetaData())
METER = MeterInfo("m-calls", "api_calls", "call", "COUNT")
T0 = datetime.fromtimestamp(START, UTC)


@pytest.fixture
def engine(database_url):
    engine = create_engine(database_url)
    upgrade(engine, MIGRATIONS)
    yield engine
    engine.dispose()


class Metering:
    """Metering's answers from in-memory hourly (and daily) series."""

    def __init__(self, series: dict[str, np.ndarray]) -> None:
        self.series = series

    async def meters(self):
        return [METER]

    async def series_values(self, queries):
        found = []
        for q in queries:
            hourly = self.series[q.customer]
            first = int((q.start - T0) / timedelta(hours=1))
            last = int((q.end - T0) / timedelta(hours=1))
            values = hourly[first:last]
            found.append(
                values.tolist() if q.granularity == HOURLY else values.reshape(-1, 24).sum(axis=1).tolist()
            )
        return found


def record_activity(activity: ActivityStore, customers):
    batch = BatchActivity.of_batch("p1", START * 1000, [(c, "call", START * 1000) for c in customers])
    return activity.record([("batch-1", batch)])


def test_two_scans_judge_like_one_and_publish_each_anomaly_once(engine):
    rng = np.random.default_rng(2)
    usage = {
        "acme": hourly_usage(rng, 30, 300.0, incidents=(Incident("SPIKE", 20 * 24 + 10, 1),)).values,
        "tanaka": hourly_usage(rng, 30, 80.0, incidents=(Incident("OUTAGE", 25 * 24 + 2, 6),)).values,
    }
    activity = ActivityStore(engine, "insights-usage-activity", "insights-late-usage")
    assert record_activity(activity, ["acme", "tanaka"]) == 1
    assert record_activity(activity, ["acme", "tanaka"]) == 0  # the same message again: applied once
    store = SeriesStore(engine, anomaly_event)
    scan = UsageScan(Metering(usage), store, activity, history_days=60)

    first = asyncio.run(scan.scan(T0 + timedelta(days=23)))
    assert first.series_scanned == 4  # two customers, hourly and daily
    second = asyncio.run(scan.scan(T0 + timedelta(days=30)))
    assert second.points_judged == 2 * 7 * 24 + 2 * 7
    assert asyncio.run(scan.scan(T0 + timedelta(days=30))).series_scanned == 0  # nothing new yet

    listed = store.anomalies(
        customer=None, meter_id=None, kind=None, overlapping=(None, None), after=None, limit=50
    )
    hourly = sorted((a.customer, a.kind, a.start_at) for a in listed if a.granularity == HOURLY)
    assert hourly == [
        ("acme", "SPIKE", T0 + timedelta(hours=20 * 24 + 10)),
        ("tanaka", "DROP", T0 + timedelta(hours=25 * 24 + 2)),
    ]
    outage = next(a for a in listed if a.kind == "DROP" and a.granularity == HOURLY)
    assert outage.end_at == T0 + timedelta(hours=25 * 24 + 8)
    assert outage.reason.startswith("api_calls of tanaka (hourly): usage fell to zero")
    with engine.connect() as conn:
        published = [r.msg_id for r in conn.execute(select(OUTBOX.c.msg_id))]
        states = {r.id: json.loads(r.state) for r in conn.execute(select(usage_series))}
    assert sorted(published) == sorted({f"anomaly-detected:{a.id}:{a.kind}" for a in listed})
    assert len(states) == 4 and all(s["model"]["observed"][0] > 0 for s in states.values())


def test_a_scan_that_lost_the_race_to_another_replica_writes_nothing(engine):
    rng = np.random.default_rng(3)
    usage = {"acme": hourly_usage(rng, 10, 100.0).values}
    activity = ActivityStore(engine, "insights-usage-activity", "insights-late-usage")
    record_activity(activity, ["acme"])
    store = SeriesStore(engine, anomaly_event)
    asyncio.run(UsageScan(Metering(usage), store, activity, history_days=30).scan(T0 + timedelta(days=5)))
    rows = store.series()
    stale = rows
    # Another replica moves one series on meanwhile: this replica's save for it must be refused.
    with engine.begin() as conn:
        conn.execute(usage_series.update().values(scored_until=T0 + timedelta(days=6)))
    update = SeriesUpdate(
        stale[0].id,
        "acme",
        METER.id,
        stale[0].granularity,
        stale[0].scored_until,
        T0 + timedelta(days=7),
        {},
        False,
    )
    with pytest.raises(StaleScan):
        store.save_scan(ScanOutcome([update], []))
