"""The rejected-events log on SQLite and PostgreSQL: bounded by age and per producer, pages read by index."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

import tally.ingestion
from tally.ingestion.domain import RejectedFilter, Rejection
from tally.ingestion.rejected_retention import RejectedRetention
from tally.ingestion.store import RejectedBounds, RejectedLog, rejected_events
from tally.persistence.engine import create_engine
from tally.persistence.migrations import upgrade

MIGRATIONS = Path(tally.ingestion.__file__).resolve().parents[3] / "migrations"
NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture
def engine(database_url):
    engine = create_engine(database_url)
    upgrade(engine, MIGRATIONS)
    yield engine
    engine.dispose()


def reject(log: RejectedLog, producer_id: str, batch_id: str, at: datetime, count: int = 1) -> None:
    log.record(
        producer_id,
        batch_id,
        at,
        [
            (Rejection(i, f"{batch_id}-{i}", "MISSING_CUSTOMER", "events[0].customer", "is required"), {})
            for i in range(count)
        ],
    )


def kept(engine) -> dict[str, list[str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(rejected_events.c.producer_id, rejected_events.c.event_id).order_by(rejected_events.c.id)
        ).all()
    found: dict[str, list[str]] = {}
    for producer_id, event_id in rows:
        found.setdefault(producer_id, []).append(event_id)
    return found


async def test_rejections_past_the_retention_go_on_insert_for_their_producer_and_on_prune_for_all(engine):
    log = RejectedLog(engine, RejectedBounds(retention=timedelta(days=30), max_per_producer=1_000))
    reject(log, "p1", "old", NOW - timedelta(days=31))
    reject(log, "p2", "old", NOW - timedelta(days=31))
    reject(log, "p2", "recent", NOW - timedelta(days=29))
    assert kept(engine) == {"p1": ["old-0"], "p2": ["old-0", "recent-0"]}

    reject(log, "p1", "new", NOW)  # this producer's expired rejections go with the insert
    assert kept(engine) == {"p1": ["new-0"], "p2": ["old-0", "recent-0"]}

    assert await RejectedRetention(log, interval_s=60, clock=lambda: NOW).prune() == 1
    assert kept(engine) == {"p1": ["new-0"], "p2": ["recent-0"]}


def test_each_producer_keeps_only_its_newest_allowance(engine):
    log = RejectedLog(engine, RejectedBounds(max_per_producer=100))
    for batch in range(3):  # the first insert checks, then every tenth of the allowance (10 rows)
        reject(log, "noisy", f"b{batch}", NOW, count=40)
    reject(log, "quiet", "q", NOW, count=5)
    found = kept(engine)
    assert found["noisy"] == [f"b{b}-{i}" for b in range(3) for i in range(40)][-100:]
    assert found["quiet"] == [f"q-{i}" for i in range(5)]

    # Between checks a producer may pass its allowance by up to a tenth; the periodic prune trims it.
    reject(log, "noisy", "b3", NOW, count=5)
    assert len(kept(engine)["noisy"]) == 105
    assert log.prune(NOW) == 5
    assert kept(engine)["noisy"][0] == "b0-25"
    assert len(kept(engine)["noisy"]) == 100


def test_a_producers_page_is_read_through_its_index_without_sorting(engine):
    log = RejectedLog(engine)
    for producer_id in ("p1", "p2"):
        reject(log, producer_id, "b", NOW, count=50)
    page = log.list(RejectedFilter(producer_id="p1"), after_id=None, limit=20)
    assert [r.rejection.event_id for r in page] == [f"b-{i}" for i in range(49, 29, -1)]
    following = log.list(RejectedFilter(producer_id="p1"), after_id=page[-1].id, limit=20)
    assert [r.rejection.event_id for r in following] == [f"b-{i}" for i in range(29, 9, -1)]

    query = (
        select(rejected_events)
        .where(rejected_events.c.producer_id == "p1", rejected_events.c.id < page[-1].id)
        .order_by(rejected_events.c.id.desc())
        .limit(20)
    )
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
            plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
            assert "ix_rejected_events_producer_id" in plan and "TEMP B-TREE" not in plan, plan
        else:
            conn.execute(text("SET LOCAL enable_seqscan = off"))  # a 100-row table would not use any index
            compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
            plan = " ".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {compiled}"))
            assert "ix_rejected_events_producer_id" in plan and "Sort" not in plan, plan
        assert conn.execute(select(func.count()).select_from(rejected_events)).scalar_one() == 100
