"""Usage queries over rollups agree with raw events; amend, void, backfill, update and rebuild keep them so.

Runs on SQLite and PostgreSQL.
"""

import asyncio
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import MetaData, insert, select, update

import tally.metering
from tally.api.metering.v1 import events_pb2 as metering_events
from tally.domain.errors import FailedPrecondition, InvalidArgument, NotFound
from tally.mesh import streams
from tally.mesh.wire import decimal_to_wire
from tally.metering.aggregation import HOUR_MS
from tally.metering.corrections import EventCorrections, MeterRevisions
from tally.metering.corrections_store import CorrectionStore
from tally.metering.domain import Aggregation, MeterChange, MeterDefinition
from tally.metering.event_store import EventStore
from tally.metering.handlers import MeterCatalog
from tally.metering.queries import EventListing, MeterValues, UsageFold, UsageQuery, UsageReader, Window
from tally.metering.recording.payload import IncomingEvent
from tally.metering.recording.usage_recording import UsageRecording
from tally.metering.recording.writers import usage_writer
from tally.metering.store import MeterStore, closed_periods, event_audit, rollups, unique_values
from tally.metering.usage_store import UsageStore
from tally.persistence.engine import create_engine
from tally.persistence.migrations import upgrade
from tally.persistence.outbox import outbox_table

MIGRATIONS = Path(tally.metering.__file__).resolve().parents[3] / "migrations"
DAY_MS = 24 * HOUR_MS
OUTBOX = outbox_table(MetaData())


def ms(*parts):
    return int(datetime(*parts, tzinfo=UTC).timestamp() * 1000)


T0 = ms(2026, 6, 1)


@pytest.fixture
def engine(database_url):
    engine = create_engine(database_url)
    upgrade(engine, MIGRATIONS)
    yield engine
    engine.dispose()


def define(engine, key, aggregation, value_property="v", group_by=(), event_type="call"):
    definition = MeterDefinition(key, key, event_type, aggregation, value_property, group_by=tuple(group_by))
    return asyncio.run(
        MeterRevisions(MeterCatalog(MeterStore(engine)), CorrectionStore(engine)).create(definition)
    )


def record(engine, stored, customer="acme", batch=None):
    incoming = [
        IncomingEvent(event_id, customer, event_type, timestamp_ms, dict(properties))
        for event_type, properties, timestamp_ms, event_id in stored
    ]
    return UsageRecording(usage_writer(engine)).record("p1", batch or uuid.uuid4().hex, T0, incoming)


def ev(event_id, timestamp_ms, **properties):
    return ("call", {k: str(v) for k, v in properties.items()}, timestamp_ms, event_id)


def answer(buckets):
    return [(b.start_ms, b.end_ms, dict(b.group), decimal_to_wire(b.quantity)) for b in buckets]


def from_raw(definition, query, stored):
    fold = UsageFold(definition, query)
    for event in stored:
        fold.add_event(*event)
    return answer(fold.buckets())


def read(engine, *queries):
    return [answer(found) for found in UsageReader(UsageStore(engine)).read(list(queries))]


def rollup_rows(engine, meter_id):
    with engine.connect() as conn:
        found = conn.execute(
            select(rollups).where(rollups.c.meter_id == meter_id).order_by(*rollups.primary_key.columns)
        )
        kept = [dict(row._mapping) for row in found]
        distinct = conn.execute(
            select(unique_values)
            .where(unique_values.c.meter_id == meter_id)
            .order_by(*unique_values.primary_key.columns)
        ).all()
    return kept, [tuple(row) for row in distinct]


def test_hand_computed_usage_through_rollups_with_partial_edge_hours(engine):
    total = define(engine, "total", Aggregation.SUM, group_by=["region"])
    level = define(engine, "seats", Aggregation.WEIGHTED_SUM)
    users = define(engine, "users", Aggregation.UNIQUE_COUNT, "user")
    latest = define(engine, "latest", Aggregation.LATEST)
    record(
        engine,
        [
            ev("seed", ms(2026, 5, 3, 10, 17), v="10", user="ann"),
            ev("edge-in", ms(2026, 6, 1, 9, 45), v="0.5", region="eu", user="bob"),
            ev("whole", ms(2026, 6, 10), v="5", region="eu", user="ann"),
            ev("whole-2", ms(2026, 6, 20), v="-3", user="cid"),
            ev("edge-out", ms(2026, 6, 30, 23, 40), v="-0.5", region="us", user="dan"),
            ev("at-end", ms(2026, 7, 1), v="100", user="eve"),
        ],
    )
    june, july = ms(2026, 6, 1), ms(2026, 7, 1)
    start = ms(2026, 6, 1, 9, 30)
    assert read(engine, UsageQuery("acme", total.id, start, july, group_by=("region",))) == [
        [
            (start, july, {"region": "eu"}, "5.5"),
            (start, july, {"region": "us"}, "-0.5"),
            (start, july, {}, "-3"),
        ]
    ]
    # docs/pricing.md: 10 carried in (from the rollups before June), +5 on 10 June, -3 on 20 June -> 12.4
    june_changes = [ev("june-seed", ms(2026, 5, 3, 10, 17), v="10"), ev("june-up", ms(2026, 6, 10), v="5")]
    june_changes += [ev("june-down", ms(2026, 6, 20), v="-3"), ev("june-july", july, v="100")]
    record(engine, june_changes, customer="june")
    assert read(engine, UsageQuery("june", level.id, june, july)) == [[(june, july, {}, "12.4")]]
    assert read(engine, UsageQuery("acme", users.id, start, july)) == [[(start, july, {}, "4")]]
    assert read(engine, UsageQuery("acme", latest.id, june, july)) == [[(june, july, {}, "-0.5")]]
    third = ms(2026, 6, 3, 12, 30)
    assert read(engine, UsageQuery("acme", total.id, ms(2026, 6, 1, 9, 30), third, Window.DAY)) == [
        [
            (ms(2026, 6, 1, 9, 30), ms(2026, 6, 2), {}, "0.5"),
            (ms(2026, 6, 2), ms(2026, 6, 3), {}, "0"),
            (ms(2026, 6, 3), third, {}, "0"),
        ]
    ]


EVENT_TIMES = st.integers(min_value=-2 * DAY_MS, max_value=3 * DAY_MS).map(
    lambda offset: T0 + offset - offset % 60_000 if offset % 7 == 0 else T0 + offset
)
RANDOM_EVENTS = st.lists(
    st.tuples(
        EVENT_TIMES,
        st.sampled_from(["-5", "0", "0.5", "3", "10.25", None]),
        st.sampled_from(["eu", "us", None]),
        st.sampled_from(["x", "y", None]),
        st.sampled_from(["ann", "bob", "cid"]),
    ),
    max_size=40,
)
BOUNDS = st.integers(min_value=-DAY_MS, max_value=3 * DAY_MS).map(
    lambda offset: T0 + (offset - offset % HOUR_MS if offset % 3 == 0 else offset)
)


@pytest.fixture
def random_meters(engine):
    return {
        aggregation: define(engine, aggregation.value.lower(), aggregation, group_by=["region", "tier"])
        for aggregation in Aggregation
    }


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    stored=RANDOM_EVENTS,
    bounds=st.tuples(BOUNDS, BOUNDS).filter(lambda b: b[0] != b[1]),
    window=st.sampled_from(list(Window)),
    group_by=st.sampled_from([(), ("region",), ("tier", "region")]),
)
def test_rollups_and_raw_events_give_the_same_usage(engine, random_meters, stored, bounds, window, group_by):
    customer = uuid.uuid4().hex
    raw = []
    for index, (at, value, region, tier, user) in enumerate(stored):
        properties = {"user": user}
        for name, given_value in (("v", value), ("region", region), ("tier", tier)):
            if given_value is not None:
                properties[name] = given_value
        raw.append(("call", properties, at, f"{customer}-{index:02d}"))
    record(engine, raw, customer=customer)
    start, end = sorted(bounds)
    if window is Window.MINUTE:
        end = min(end, start + 6 * HOUR_MS)
    meters = list(random_meters.values())
    queries = [UsageQuery(customer, m.id, start, end, window, group_by) for m in meters]
    expected = [from_raw(m.definition, query, raw) for m, query in zip(meters, queries, strict=True)]
    assert read(engine, *queries) == expected


def test_batch_answers_many_customers_in_order_and_names_the_bad_query(engine):
    total = define(engine, "total", Aggregation.SUM)
    for customer, value in (("acme", "1.5"), ("bluth", "2"), ("cyber", "4")):
        record(
            engine,
            [ev(f"{customer}-1", T0 + HOUR_MS, v=value), ev(f"{customer}-2", T0 + 90_000, v=value)],
            customer,
        )
    queries = [UsageQuery(name, total.id, T0, T0 + DAY_MS) for name in ("cyber", "acme", "nobody", "bluth")]
    assert [found[0][3] for found in read(engine, *queries)] == ["8", "3.0", "0", "4"]
    with pytest.raises(NotFound) as missing:
        UsageReader(UsageStore(engine)).read([queries[0], UsageQuery("acme", "nope", T0, T0 + 1)], batch=True)
    assert missing.value.field == "queries[1].meter_id"
    with pytest.raises(InvalidArgument) as grouped:
        UsageReader(UsageStore(engine)).read([UsageQuery("acme", total.id, T0, T0 + 1, group_by=("region",))])
    assert [v.field for v in grouped.value.violations] == ["group_by"]


def test_a_meter_defined_after_its_events_is_backfilled(engine):
    record(engine, [ev("a", T0 + 10, v="2", user="ann"), ev("b", T0 + HOUR_MS + 5, v="3", user="ann")])
    total = define(engine, "total", Aggregation.SUM)
    users = define(engine, "users", Aggregation.UNIQUE_COUNT, "user")
    assert read(engine, UsageQuery("acme", total.id, T0, T0 + DAY_MS)) == [[(T0, T0 + DAY_MS, {}, "5")]]
    assert read(engine, UsageQuery("acme", users.id, T0, T0 + DAY_MS)) == [[(T0, T0 + DAY_MS, {}, "1")]]
    assert [row["count"] for row in rollup_rows(engine, total.id)[0]] == [1, 1]


def test_rebuild_restores_a_corrupted_rollup(engine):
    total = define(engine, "total", Aggregation.SUM, group_by=["region"])
    users = define(engine, "users", Aggregation.UNIQUE_COUNT, "user")
    record(
        engine,
        [
            ev(f"e{i}", T0 + i * 600_000, v=f"{i}.5", region=("eu" if i % 2 else "us"), user=f"u{i % 3}")
            for i in range(20)
        ],
    )
    good_total, good_users = rollup_rows(engine, total.id), rollup_rows(engine, users.id)
    with engine.begin() as conn:
        conn.execute(
            update(rollups).where(rollups.c.meter_id == total.id).values(count=999, sum=Decimal("-1"))
        )
        conn.execute(unique_values.delete().where(unique_values.c.meter_id == users.id))
    revisions = MeterRevisions(MeterCatalog(MeterStore(engine)), CorrectionStore(engine))
    outcome = asyncio.run(revisions.rebuild(total.id))
    assert (outcome.event_count, outcome.rollup_count) == (20, len(good_total[0]))
    asyncio.run(revisions.rebuild(users.id))
    assert rollup_rows(engine, total.id) == good_total
    assert rollup_rows(engine, users.id) == good_users
    with pytest.raises(NotFound) as missing:
        asyncio.run(revisions.rebuild("nope"))
    assert missing.value.field == "meter_id"


def test_updating_a_meter_restates_its_rollups_in_the_same_call(engine):
    total = define(engine, "total", Aggregation.SUM, group_by=["region"])
    record(engine, [ev("a", T0, v="2", region="eu", tokens="7"), ev("b", T0 + 1, v="3", tokens="1")])
    revisions = MeterRevisions(MeterCatalog(MeterStore(engine)), CorrectionStore(engine))
    renamed = asyncio.run(revisions.update(total.id, MeterChange(name="Total calls")))
    assert renamed.definition.name == "Total calls" and renamed.updated_at >= renamed.created_at
    changed = asyncio.run(revisions.update(total.id, MeterChange(value_property="tokens", group_by=())))
    assert (changed.definition.value_property, changed.definition.group_by) == ("tokens", ())
    assert read(engine, UsageQuery("acme", total.id, T0, T0 + DAY_MS)) == [[(T0, T0 + DAY_MS, {}, "8")]]
    assert [(row["group_key"], row["sum"]) for row in rollup_rows(engine, total.id)[0]] == [
        ("{}", Decimal("8"))
    ]
    with pytest.raises(InvalidArgument):
        UsageReader(UsageStore(engine)).read([UsageQuery("acme", total.id, T0, T0 + 1, group_by=("region",))])


def test_amend_and_void_change_usage_keep_rollups_exact_and_leave_an_audit_trail(engine):
    total = define(engine, "total", Aggregation.SUM, group_by=["region"])
    users = define(engine, "users", Aggregation.UNIQUE_COUNT, "user")
    record(
        engine,
        [
            ev("a", T0 + 10, v="2", region="eu", user="ann"),
            ev("b", T0 + 20, v="3", region="eu", user="bob"),
            ev("c", T0 + HOUR_MS, v="4", user="ann"),
        ],
    )
    fixer = EventCorrections(CorrectionStore(engine))
    amended = asyncio.run(
        fixer.amend("p1", "b", {"v": "30", "region": "us", "user": "ann"}, "wrong region", "ops")
    )
    assert (amended.amended, amended.voided, amended.event.properties["v"]) == (True, False, "30")
    whole = UsageQuery("acme", total.id, T0, T0 + DAY_MS, group_by=("region",))
    assert read(engine, whole) == [
        [
            (T0, T0 + DAY_MS, {"region": "eu"}, "2"),
            (T0, T0 + DAY_MS, {"region": "us"}, "30"),
            (T0, T0 + DAY_MS, {}, "4"),
        ]
    ]
    assert read(engine, UsageQuery("acme", users.id, T0, T0 + DAY_MS)) == [[(T0, T0 + DAY_MS, {}, "1")]]
    voided = asyncio.run(fixer.void("p1", "a", "test traffic", "ops"))
    assert voided.voided
    assert read(engine, whole)[0][0] == (T0, T0 + DAY_MS, {"region": "us"}, "30")

    # The corrected rollups are exactly what a rebuild from the live events writes.
    after = rollup_rows(engine, total.id), rollup_rows(engine, users.id)
    revisions = MeterRevisions(MeterCatalog(MeterStore(engine)), CorrectionStore(engine))
    asyncio.run(revisions.rebuild(total.id))
    asyncio.run(revisions.rebuild(users.id))
    assert (rollup_rows(engine, total.id), rollup_rows(engine, users.id)) == after

    with engine.connect() as conn:
        audit = conn.execute(select(event_audit).order_by(event_audit.c.id)).mappings().all()
    assert [(row["event_id"], row["action"], row["reason"], row["actor"]) for row in audit] == [
        ("b", "AMENDED", "wrong region", "ops"),
        ("a", "VOIDED", "test traffic", "ops"),
    ]
    assert json.loads(audit[0]["before_payload"])["properties"] == {"v": "3", "region": "eu", "user": "bob"}
    assert json.loads(audit[0]["after_payload"])["properties"] == {"v": "30", "region": "us", "user": "ann"}
    assert (
        json.loads(audit[1]["before_payload"])["voided"],
        json.loads(audit[1]["after_payload"])["voided"],
    ) == (
        False,
        True,
    )
    with engine.connect() as conn:
        assert conn.execute(select(OUTBOX).where(OUTBOX.c.subject == streams.USAGE_LATE)).all() == []


def test_corrections_are_refused_with_the_field_or_state_at_fault(engine):
    record(engine, [ev("a", T0, v="1")])
    define(engine, "total", Aggregation.SUM)
    fixer = EventCorrections(CorrectionStore(engine))
    with pytest.raises(NotFound) as missing:
        asyncio.run(fixer.void("p1", "nope", "why", "ops"))
    assert missing.value.field == "event_id"
    with pytest.raises(InvalidArgument) as no_reason:
        asyncio.run(fixer.amend("p1", "a", {"v": "2"}, "  ", "ops"))
    assert [v.field for v in no_reason.value.violations] == ["reason"]
    with pytest.raises(InvalidArgument) as not_a_number:
        asyncio.run(fixer.amend("p1", "a", {"v": "lots"}, "typo", "ops"))
    assert [v.field for v in not_a_number.value.violations] == ["properties.v"]
    asyncio.run(fixer.void("p1", "a", "duplicate", "ops"))
    with pytest.raises(FailedPrecondition):
        asyncio.run(fixer.void("p1", "a", "again", "ops"))
    with pytest.raises(FailedPrecondition):
        asyncio.run(fixer.amend("p1", "a", {"v": "2"}, "revive", "ops"))
    with engine.connect() as conn:
        assert [row.action for row in conn.execute(select(event_audit.c.action))] == ["VOIDED"]


def test_correcting_usage_of_a_closed_period_announces_it_late(engine):
    total = define(engine, "total", Aggregation.SUM)
    record(engine, [ev("old", T0 + 10, v="5"), ev("open", T0 + DAY_MS, v="1")])
    with engine.begin() as conn:
        conn.execute(insert(closed_periods).values(customer="acme", closed_until_ms=T0 + DAY_MS))
    fixer = EventCorrections(CorrectionStore(engine))
    asyncio.run(fixer.amend("p1", "old", {"v": "7"}, "meter misread", "ops"))
    asyncio.run(fixer.void("p1", "open", "test traffic", "ops"))
    with engine.connect() as conn:
        published = (
            conn.execute(select(OUTBOX).where(OUTBOX.c.subject == streams.USAGE_LATE)).mappings().all()
        )
    assert len(published) == 1
    assert published[0]["subject"] == streams.USAGE_LATE
    assert published[0]["msg_id"].startswith("usage-late:amended:p1:old:")
    late = metering_events.UsageLate.FromString(published[0]["payload"])
    assert (late.customer, list(late.meter_ids), list(late.event_ids), late.producer_id) == (
        "acme",
        [total.id],
        ["old"],
        "p1",
    )
    assert late.cause == metering_events.LATE_CAUSE_AMENDED
    assert (late.period.start.ToMilliseconds(), late.period.end.ToMilliseconds()) == (T0 + 10, T0 + 11)
    assert read(engine, UsageQuery("acme", total.id, T0, T0 + 2 * DAY_MS)) == [
        [(T0, T0 + 2 * DAY_MS, {}, "7")]
    ]


def test_listing_hides_voided_events_unless_asked_and_shows_flags_in_event_time_order(engine):
    define(engine, "total", Aggregation.SUM)
    record(engine, [ev("b", T0 + 5, v="1"), ev("a", T0 + 5, v="2"), ev("c", T0, v="3")])
    asyncio.run(EventCorrections(CorrectionStore(engine)).void("p1", "a", "duplicate", "ops"))
    asyncio.run(EventCorrections(CorrectionStore(engine)).amend("p1", "c", {"v": "4"}, "typo", "ops"))
    listing = EventListing(EventStore(engine))

    def listed(include_voided, after=None, limit=10):
        return listing.list(
            "acme",
            start_ms=None,
            end_ms=None,
            event_type=None,
            include_voided=include_voided,
            after=after,
            limit=limit,
        )

    assert [(r.event.event_id, r.amended, r.voided) for r in listed(False)] == [
        ("c", True, False),
        ("b", False, False),
    ]
    first = listed(True, limit=2)
    assert [r.event.event_id for r in first] == ["c", "a"]
    assert [r.event.event_id for r in listed(True, after=first[-1].position)] == ["b"]


def test_meter_values_are_the_events_the_meter_counts_in_event_order_after_corrections(engine):
    total = define(engine, "total", Aggregation.SUM)
    count = define(engine, "calls", Aggregation.COUNT)
    record(
        engine,
        [
            ev("c", T0 + 30, v="3"),
            ev("a", T0 + 10, v="1"),
            ev("b2", T0 + 20, v="2.5"),
            ev("b1", T0 + 20, v="2"),  # same instant: event_id breaks the tie
            ev("none", T0 + 40),  # no value: not counted by the meter, not a transaction
            ev("bad", T0 + 50, v="NaN"),
            ev("late", T0 + DAY_MS, v="9"),  # outside the period
            ("other", {"v": "100"}, T0 + 15, "x"),  # another event type
        ],
    )
    fixer = EventCorrections(CorrectionStore(engine))
    asyncio.run(fixer.amend("p1", "c", {"v": "30"}, "fix", "ops"))
    asyncio.run(fixer.void("p1", "a", "test traffic", "ops"))
    values = MeterValues(EventStore(engine))
    stored = MeterStore(engine).get(total.id)

    def page(after, limit):
        return values.page("acme", stored, start_ms=T0, end_ms=T0 + DAY_MS, after=after, limit=limit)

    whole = page(None, 100)
    assert (whole.values, whole.next_position) == ([Decimal(2), Decimal("2.5"), Decimal(30)], None)
    # The meter's own SUM over the same events agrees with the listed values.
    assert read(engine, UsageQuery("acme", total.id, T0, T0 + DAY_MS)) == [[(T0, T0 + DAY_MS, {}, "34.5")]]
    # Pages count events examined (an event without a value still takes its place on a page).
    listed, after = [], None
    while True:
        found = page(after, 2)
        listed.extend(found.values)
        if found.next_position is None:
            break
        after = found.next_position
    assert listed == whole.values
    with pytest.raises(InvalidArgument, match="COUNT"):
        values.page(
            "acme", MeterStore(engine).get(count.id), start_ms=T0, end_ms=T0 + 1, after=None, limit=10
        )
    with pytest.raises(InvalidArgument, match=r"period\.end"):
        values.page("acme", stored, start_ms=T0, end_ms=T0, after=None, limit=10)
