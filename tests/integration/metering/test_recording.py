"""The metering hot path on SQLite and PostgreSQL: events once, rollups exact, conflicts and late usage kept."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import insert, select

import tally.metering
from tally.metering.aggregation import HOUR_MS, group_key
from tally.metering.closed_periods import ClosedPeriodStore
from tally.metering.closing import DEFAULT_CLOSE_MARGIN, Closing, PeriodClosing
from tally.metering.domain import Aggregation, MeterDefinition
from tally.metering.recording.payload import IncomingEvent
from tally.metering.recording.prepared import IncomingBatch
from tally.metering.recording.usage_recording import UsageRecording
from tally.metering.recording.writers import usage_writer
from tally.metering.store import MeterStore, closed_periods, event_conflicts, events, rollups, unique_values
from tally.metering.watermark import usage_watermark
from tally.persistence.engine import create_engine
from tally.persistence.migrations import upgrade
from tally.persistence.outbox import outbox_table

MIGRATIONS = Path(tally.metering.__file__).resolve().parents[3] / "migrations"
T0 = 1_780_000_000_000 - 1_780_000_000_000 % HOUR_MS  # the start of a UTC hour


@pytest.fixture
def engine(database_url):
    engine = create_engine(database_url)
    upgrade(engine, MIGRATIONS)
    yield engine
    engine.dispose()


def meter(store, key, aggregation, value_property="", group_by=()):
    definition = MeterDefinition(key, key, "request", aggregation, value_property, group_by=tuple(group_by))
    return store.create(f"m-{key}", definition, datetime.now(UTC))


def event(event_id, offset_ms, customer="acme", **properties):
    return IncomingEvent(
        event_id, customer, "request", T0 + offset_ms, {k: str(v) for k, v in properties.items()}
    )


def rollup_rows(engine, meter_id):
    with engine.connect() as conn:
        query = (
            select(rollups)
            .where(rollups.c.meter_id == meter_id)
            .order_by(rollups.c.group_key, rollups.c.hour_ms)
        )
        return [dict(row) for row in conn.execute(query).mappings()]


def test_events_fold_into_exact_hourly_rollups(engine):
    store = MeterStore(engine)
    count = meter(store, "requests", Aggregation.COUNT)
    total = meter(store, "bytes", Aggregation.SUM, "bytes", group_by=["region"])
    distinct = meter(store, "users", Aggregation.UNIQUE_COUNT, "user")
    recording = UsageRecording(usage_writer(engine))
    first = recording.record(
        "p1",
        "b1",
        T0,
        [
            event("e1", 1_000, bytes="0.1", region="eu", user="ann"),
            event("e2", 2_000, bytes="0.2", region="eu", user="bob"),
            event("e3", HOUR_MS + 5, bytes="7", user="ann"),
        ],
    )
    second = recording.record(
        "p1", "b2", T0, [event("e4", 3_000, bytes="0.0000001", region="eu", user="ann")]
    )
    assert (first.inserted, second.inserted) == (3, 1)

    assert [(r["hour_ms"] - T0, r["count"]) for r in rollup_rows(engine, count.id)] == [(0, 3), (HOUR_MS, 1)]
    by_group = {(r["group_key"], r["hour_ms"] - T0): r for r in rollup_rows(engine, total.id)}
    eu = by_group[(group_key({"region": "eu"}), 0)]
    assert (eu["count"], eu["sum"], eu["min"], eu["max"]) == (
        3,
        Decimal("0.3000001"),
        Decimal("0.0000001"),
        Decimal("0.2"),
    )
    assert (eu["latest_event_id"], eu["latest_value"]) == ("e4", Decimal("0.0000001"))
    assert by_group[(group_key({}), HOUR_MS)]["sum"] == Decimal("7")
    with engine.connect() as conn:
        values = conn.execute(
            select(unique_values.c.value).where(
                unique_values.c.meter_id == distinct.id, unique_values.c.hour_ms == T0
            )
        ).scalars()
        assert sorted(values) == ["ann", "bob"]


def test_a_redelivered_batch_changes_nothing(engine):
    store = MeterStore(engine)
    total = meter(store, "bytes", Aggregation.SUM, "bytes")
    recording = UsageRecording(usage_writer(engine))
    batch = [event(f"e{i}", i, bytes="1.5") for i in range(50)]
    assert recording.record("p1", "b1", T0, batch).inserted == 50
    again = recording.record("p1", "b1", T0, batch)
    assert (again.inserted, again.duplicates, again.conflicts) == (0, 50, 0)
    assert [(r["count"], r["sum"]) for r in rollup_rows(engine, total.id)] == [(50, Decimal("75.0"))]


def test_the_same_event_id_from_another_producer_is_another_event(engine):
    recording = UsageRecording(usage_writer(engine))
    recording.record("p1", "b1", T0, [event("e1", 0)])
    assert recording.record("p2", "b1", T0, [event("e1", 0)]).inserted == 1


def test_a_repeated_id_with_another_payload_is_a_conflict_not_a_merge(engine):
    store = MeterStore(engine)
    total = meter(store, "bytes", Aggregation.SUM, "bytes")
    recording = UsageRecording(usage_writer(engine))
    recording.record("p1", "b1", T0, [event("e1", 0, bytes="10")])
    outcome = recording.record("p1", "b2", T0, [event("e1", 0, bytes="99"), event("e1", 0, bytes="10")])
    assert (outcome.inserted, outcome.conflicts) == (0, 1)
    within = recording.record("p1", "b3", T0, [event("e2", 0, bytes="1"), event("e2", 0, bytes="2")])
    assert (within.inserted, within.conflicts) == (1, 1)
    assert [r["sum"] for r in rollup_rows(engine, total.id)] == [Decimal("11")]
    with engine.connect() as conn:
        rows = conn.execute(
            select(event_conflicts.c.event_id, event_conflicts.c.batch_id).order_by(event_conflicts.c.id)
        )
        assert [tuple(row) for row in rows] == [("e1", "b2"), ("e2", "b3")]


def test_usage_after_a_closed_period_is_stored_counted_flagged_and_announced(engine):
    store = MeterStore(engine)
    count = meter(store, "requests", Aggregation.COUNT)
    with engine.begin() as conn:
        conn.execute(insert(closed_periods).values(customer="acme", closed_until_ms=T0 + HOUR_MS))
    outcome = UsageRecording(usage_writer(engine)).record(
        "p1", "b1", T0, [event("old", 10), event("new", HOUR_MS + 10)]
    )
    assert (outcome.inserted, outcome.late) == (2, 1)
    assert [r["count"] for r in rollup_rows(engine, count.id)] == [1, 1]
    with engine.connect() as conn:
        flags = dict(conn.execute(select(events.c.event_id, events.c.late)).all())
        assert flags == {"old": True, "new": False}
        subjects = conn.execute(select(outbox_table(type(events.metadata)()).c.subject)).scalars().all()
        assert subjects.count("tally.metering.usage_late") == 1


def test_repeats_across_the_batches_of_one_fetch_count_once_and_conflicts_are_kept(engine):
    store = MeterStore(engine)
    total = meter(store, "bytes", Aggregation.SUM, "bytes")
    count = meter(store, "requests", Aggregation.COUNT)
    recording = UsageRecording(usage_writer(engine))
    recording.record("p1", "b0", T0, [event("stored", 0, bytes="5")])
    outcomes = recording.record_batches(
        [
            IncomingBatch("p1", "b1", T0, [event("e1", 10, bytes="1"), event("stored", 0, bytes="5")]),
            IncomingBatch("p1", "b2", T0, [event("e1", 10, bytes="1"), event("e2", 20, bytes="2")]),
            IncomingBatch("p1", "b3", T0, [event("e2", 20, bytes="3"), event("stored", 0, bytes="6")]),
        ]
    )
    assert [(o.inserted, o.duplicates, o.conflicts) for o in outcomes] == [(1, 1, 0), (1, 1, 0), (0, 2, 2)]
    assert [(r["count"], r["sum"]) for r in rollup_rows(engine, total.id)] == [(3, Decimal("8"))]
    assert [r["count"] for r in rollup_rows(engine, count.id)] == [3]
    with engine.connect() as conn:
        rows = conn.execute(
            select(event_conflicts.c.event_id, event_conflicts.c.batch_id).order_by(event_conflicts.c.id)
        )
        assert sorted(tuple(row) for row in rows) == [("e2", "b3"), ("stored", "b3")]


def test_fetches_written_together_count_each_event_once_and_keep_their_own_outcomes(engine):
    store = MeterStore(engine)
    total = meter(store, "bytes", Aggregation.SUM, "bytes")
    count = meter(store, "requests", Aggregation.COUNT)
    recording = UsageRecording(usage_writer(engine))
    recording.record("p1", "b0", T0, [event("stored", 0, bytes="5")])
    # Prepared apart (as the consumer's fetch loops do), then committed in one transaction by the writer.
    first = recording.prepare(
        [IncomingBatch("p1", "b1", T0, [event("e1", 10, bytes="1"), event("e2", 20, bytes="2")])]
    )
    second = recording.prepare(
        [
            IncomingBatch("p1", "b2", T0, [event("e1", 10, bytes="1"), event("e3", 30, bytes="4")]),
            IncomingBatch("p1", "b3", T0, [event("e2", 20, bytes="9"), event("stored", 0, bytes="5")]),
        ]
    )
    outcomes = recording.write_many([first, second])
    assert [[(o.inserted, o.duplicates, o.conflicts) for o in part] for part in outcomes] == [
        [(2, 0, 0)],
        [(1, 1, 0), (0, 2, 1)],
    ]
    assert [(r["count"], r["sum"]) for r in rollup_rows(engine, total.id)] == [(4, Decimal("12"))]
    assert [r["count"] for r in rollup_rows(engine, count.id)] == [4]
    with engine.connect() as conn:
        assert sorted(conn.execute(select(events.c.event_id)).scalars()) == ["e1", "e2", "e3", "stored"]
        conflicts = conn.execute(select(event_conflicts.c.event_id, event_conflicts.c.batch_id)).all()
        assert [tuple(row) for row in conflicts] == [("e2", "b3")]
    # The parts were left as prepared: written alone again, each is now wholly a repeat.
    again = recording.write(first)
    assert [(o.inserted, o.duplicates) for o in again] == [(0, 2)]


def test_fetches_written_together_fold_rollups_as_if_written_apart(engine):
    store = MeterStore(engine)
    summed = meter(store, "bytes", Aggregation.SUM, "bytes", group_by=["region"])
    distinct = meter(store, "users", Aggregation.UNIQUE_COUNT, "user")
    together = UsageRecording(usage_writer(engine))
    together.record(
        "p1", "warm-up", T0, [event("w", 0, bytes="1", region="eu", user="u0")]
    )  # meters in force
    parts = [
        together.prepare(
            [
                IncomingBatch(
                    "p1",
                    f"b{n}",
                    T0,
                    [
                        event(
                            f"e{n}-{i}",
                            i * 60_000,
                            bytes=f"{n}.{i}",
                            region=("eu", "us")[i % 2],
                            user=f"u{i % 3}",
                        )
                        for i in range(90)
                    ],
                )
            ]
        )
        for n in range(3)
    ]
    together.write_many(parts)
    rows = [(r["group_key"], r["hour_ms"], r["count"], r["sum"]) for r in rollup_rows(engine, summed.id)]
    expected: dict[tuple[str, int], list] = {}
    for n in range(3):
        for i in range(90):
            key = (group_key({"region": ("eu", "us")[i % 2]}), T0 + (i * 60_000) // HOUR_MS * HOUR_MS)
            slot = expected.setdefault(key, [0, Decimal(0)])
            slot[0] += 1
            slot[1] += Decimal(f"{n}.{i}")
    expected[(group_key({"region": "eu"}), T0)][0] += 1
    expected[(group_key({"region": "eu"}), T0)][1] += 1
    assert rows == [(g, h, c, s) for (g, h), (c, s) in sorted(expected.items())]
    with engine.connect() as conn:
        values = conn.execute(
            select(unique_values.c.hour_ms, unique_values.c.value).where(
                unique_values.c.meter_id == distinct.id
            )
        ).all()
    assert sorted(values) == [
        (T0, "u0"),
        (T0, "u1"),
        (T0, "u2"),
        (T0 + HOUR_MS, "u0"),
        (T0 + HOUR_MS, "u1"),
        (T0 + HOUR_MS, "u2"),
    ]


def test_a_kept_writer_connection_sees_what_other_connections_wrote(engine):
    count = meter(MeterStore(engine), "requests", Aggregation.COUNT)
    kept = UsageRecording(usage_writer(engine, keep_connection=True))
    pooled = UsageRecording(usage_writer(engine))
    try:
        assert kept.record("p1", "b1", T0, [event("e1", 0)]).inserted == 1
        assert pooled.record("p1", "b2", T0, [event("e1", 0), event("e2", 0)]).inserted == 1
        again = kept.record("p1", "b3", T0, [event("e1", 0), event("e2", 0), event("e3", 0)])
        assert (again.inserted, again.duplicates) == (1, 2)
    finally:
        kept.close()
    assert kept.record("p1", "b4", T0, [event("e4", 0)]).inserted == 1  # reopens after close
    kept.close()
    assert [r["count"] for r in rollup_rows(engine, count.id)] == [4]


def test_closing_a_period_sweeps_its_events_stored_after_the_invoice_read_usage(engine):
    count = meter(MeterStore(engine), "requests", Aggregation.COUNT)
    read_ms = T0 + 40 * 24 * HOUR_MS  # the invoice for the 30 days from T0 read usage ten days after
    margin_ms = int(DEFAULT_CLOSE_MARGIN.total_seconds() * 1000)
    # Stored long before the invoice read usage (it billed them) and around or after the read (maybe not).
    UsageRecording(usage_writer(engine), clock=lambda: (read_ms - margin_ms - 60_000) / 1000).record(
        "p1", "early", T0, [event("billed", 10)]
    )
    UsageRecording(usage_writer(engine), clock=lambda: (read_ms - 5_000) / 1000).record(
        "p1", "racing", T0, [event("racing", 20), event("next-period", 31 * 24 * HOUR_MS)]
    )
    UsageRecording(usage_writer(engine), clock=lambda: (read_ms + 4_000) / 1000).record(
        "p2", "other-producer", T0, [event("racing-2", 30), event("other-customer", 30, customer="globex")]
    )
    closing = PeriodClosing(ClosedPeriodStore(engine), clock=lambda: (read_ms + 9_000) / 1000)
    period = Closing("inv-1", "acme", T0, T0 + 30 * 24 * HOUR_MS, read_ms)
    assert closing.close(period) == 2
    again = closing.close(period)  # a redelivered InvoiceFinalized finds nothing new
    assert again == 0
    with engine.connect() as conn:
        flags = dict(conn.execute(select(events.c.event_id, events.c.late)).all())
        box = outbox_table(type(events.metadata)())
        late_messages = conn.execute(
            select(box.c.msg_id).where(box.c.subject == "tally.metering.usage_late")
        ).scalars()
        closed = conn.execute(select(closed_periods.c.closed_until_ms)).scalar_one()
    assert flags == {
        "billed": False,
        "racing": True,
        "next-period": False,
        "racing-2": True,
        "other-customer": False,
    }
    assert sorted(late_messages) == ["usage-late:p1:close:inv-1:acme", "usage-late:p2:close:inv-1:acme"]
    assert closed == T0 + 30 * 24 * HOUR_MS
    # Rollups are untouched: the events were counted once; the flag only tells invoicing to re-price.
    assert sum(r["count"] for r in rollup_rows(engine, count.id)) == 5

    # Stored after the close: flagged by the recording itself.
    outcome = UsageRecording(usage_writer(engine)).record(
        "p1", "after", T0, [event("after", 40), event("fresh", 31 * 24 * HOUR_MS)]
    )
    assert (outcome.inserted, outcome.late) == (2, 1)
    with engine.connect() as conn:
        flags = dict(conn.execute(select(events.c.event_id, events.c.late)).all())
    assert (flags["after"], flags["fresh"]) == (True, False)


def test_with_a_watermark_the_close_sweeps_exactly_the_events_stored_after_the_read(engine):
    """Billing seconds after sending: every event committed before the read stays on time, whatever the
    clocks say; those committed after it, and those arriving after the close, are late."""
    meter(MeterStore(engine), "requests", Aggregation.COUNT)
    read_ms = T0 + 40 * 24 * HOUR_MS
    # Stored a second before the read (well inside the 30 s clock margin), then the invoice reads usage.
    UsageRecording(usage_writer(engine), clock=lambda: (read_ms - 1_000) / 1000).record(
        "p1", "on-time", T0, [event(f"on-time-{i}", 10 + i) for i in range(15)]
    )
    watermark = usage_watermark(engine)
    # Committed after the read, with a clock that even claims earlier: still after the watermark.
    UsageRecording(usage_writer(engine), clock=lambda: (read_ms - 2_000) / 1000).record(
        "p1", "racing", T0, [event("racing", 20), event("next-period", 31 * 24 * HOUR_MS)]
    )
    closing = PeriodClosing(ClosedPeriodStore(engine), clock=lambda: (read_ms + 9_000) / 1000)
    period = Closing("inv-1", "acme", T0, T0 + 30 * 24 * HOUR_MS, read_ms, watermark)
    assert closing.close(period) == 1
    assert closing.close(period) == 0
    outcome = UsageRecording(usage_writer(engine)).record("p1", "after", T0, [event("after", 40)])
    assert (outcome.inserted, outcome.late) == (1, 1)
    with engine.connect() as conn:
        late = sorted(conn.execute(select(events.c.event_id).where(events.c.late)).scalars())
    assert late == ["after", "racing"]


@pytest.mark.postgres
def test_an_event_committing_while_the_watermark_is_taken_is_swept_not_missed(postgres_url):
    engine = create_engine(postgres_url)
    upgrade(engine, MIGRATIONS)
    try:
        UsageRecording(usage_writer(engine)).record("p1", "before", T0, [event("before", 10)])
        with engine.connect() as racing:
            # A recording transaction in flight: its event is invisible to a read starting now.
            racing.execute(
                insert(events).values(
                    producer_id="p1",
                    event_id="in-flight",
                    customer="acme",
                    event_type="request",
                    timestamp_ms=T0 + 20,
                    properties="{}",
                    batch_id="b",
                    received_at_ms=T0,
                )
            )
            watermark = usage_watermark(engine)
            racing.commit()
        swept = PeriodClosing(ClosedPeriodStore(engine)).close(
            Closing("inv-1", "acme", T0, T0 + HOUR_MS, T0, watermark)
        )
        with engine.connect() as conn:
            late = list(conn.execute(select(events.c.event_id).where(events.c.late)).scalars())
        # The in-flight event is never missed. The watermark is the oldest transaction running anywhere on the
        # PostgreSQL server (transaction ids are server-wide), so another database's open transaction at that
        # moment may also sweep "before": conservative (a correction of zero), never a loss.
        assert "in-flight" in late
        assert swept == len(late)
    finally:
        engine.dispose()


def test_closes_of_one_fetch_share_a_transaction_and_each_sweeps_its_own_customer(engine):
    read_ms = T0 + 40 * 24 * HOUR_MS
    UsageRecording(usage_writer(engine), clock=lambda: (read_ms + 1_000) / 1000).record(
        "p1",
        "b",
        T0,
        [event("a1", 10), event("g1", 10, customer="globex"), event("w1", 10, customer="wonka")],
    )
    month = T0 + 30 * 24 * HOUR_MS
    swept = PeriodClosing(ClosedPeriodStore(engine)).close_many(
        [Closing("inv-a", "acme", T0, month, read_ms), Closing("inv-g", "globex", T0, month, read_ms)]
    )
    assert swept == [1, 1]
    with engine.connect() as conn:
        flags = dict(conn.execute(select(events.c.event_id, events.c.late)).all())
        closed = dict(conn.execute(select(closed_periods.c.customer, closed_periods.c.closed_until_ms)).all())
    assert flags == {"a1": True, "g1": True, "w1": False}
    assert closed == {"acme": month, "globex": month}
