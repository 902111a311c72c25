"""docs/pricing.md's meter semantics computed from raw events alone: every aggregation, windows, groups, periods."""

from datetime import UTC, datetime

import pytest

from tally.domain.errors import InvalidArgument
from tally.mesh.wire import decimal_to_wire
from tally.metering.aggregation import HOUR_MS
from tally.metering.domain import (
    Aggregation,
    FilterOperator,
    MeterChange,
    MeterDefinition,
    PropertyFilter,
    restates_usage,
    update_fields,
)
from tally.metering.queries import (
    MAX_WINDOWS,
    UsageFold,
    UsageQuery,
    Window,
    group_by_problems,
    query_problems,
    window_spans,
)

DAY_MS = 24 * HOUR_MS


def ms(*parts):
    return int(datetime(*parts, tzinfo=UTC).timestamp() * 1000)


T0 = ms(2026, 6, 1)


def meter(aggregation, value_property="v", group_by=(), filters=()):
    return MeterDefinition(
        "m", "M", "call", aggregation, value_property, filters=tuple(filters), group_by=tuple(group_by)
    )


def ev(event_id, timestamp_ms, **properties):
    return ("call", {k: str(v) for k, v in properties.items()}, timestamp_ms, event_id)


def usage(definition, stored, start, end, window=Window.WHOLE, group_by=()):
    fold = UsageFold(definition, UsageQuery("acme", "m", start, end, window, tuple(group_by)))
    for event in stored:
        fold.add_event(*event)
    return [(b.start_ms, b.end_ms, dict(b.group), decimal_to_wire(b.quantity)) for b in fold.buckets()]


def quantity(definition, stored, start=T0, end=T0 + DAY_MS):
    ((_, _, _, amount),) = usage(definition, stored, start, end)
    return amount


VALUES = [ev("e1", T0 + 10, v="4"), ev("e2", T0 + 20, v="-1.5"), ev("e3", T0 + 30, v="10.25")]


@pytest.mark.parametrize(
    ("aggregation", "expected"),
    [
        (Aggregation.COUNT, "3"),
        (Aggregation.SUM, "12.75"),
        (Aggregation.MAX, "10.25"),
        (Aggregation.MIN, "-1.5"),
        (Aggregation.AVG, "4.25"),
        (Aggregation.LATEST, "10.25"),
    ],
)
def test_each_aggregation_of_three_values(aggregation, expected):
    assert quantity(meter(aggregation), VALUES) == expected


@pytest.mark.parametrize(
    "aggregation", [Aggregation.MAX, Aggregation.MIN, Aggregation.AVG, Aggregation.LATEST, Aggregation.SUM]
)
def test_no_events_is_zero(aggregation):
    assert quantity(meter(aggregation), []) == "0"


def test_count_counts_events_without_the_value_and_other_meters_ignore_them():
    stored = [ev("e1", T0, v="2"), ev("e2", T0 + 1, other="x")]
    assert quantity(meter(Aggregation.COUNT, ""), stored) == "2"
    assert quantity(meter(Aggregation.SUM), stored) == "2"
    assert quantity(meter(Aggregation.AVG), stored) == "2"


def test_latest_takes_the_greatest_timestamp_then_the_greater_event_id_and_keeps_negatives():
    stored = [
        ev("b", T0 + 5, v="7"),
        ev("a", T0 + 9, v="3"),
        ev("c", T0 + 9, v="-5"),
        ev("d", T0 + 1, v="99"),
    ]
    assert quantity(meter(Aggregation.LATEST), stored) == "-5"


def test_unique_count_counts_distinct_raw_strings():
    stored = [ev("e1", T0, user="ann"), ev("e2", T0 + 1, user="bob"), ev("e3", T0 + 2, user="ann")]
    stored.append(ev("e4", T0 + 3, user="Ann"))
    assert quantity(meter(Aggregation.UNIQUE_COUNT, "user"), stored) == "3"


def test_weighted_sum_pricing_example_june_is_twelve_point_four():
    june, july = ms(2026, 6, 1), ms(2026, 7, 1)
    stored = [
        ev("seed", ms(2026, 5, 3, 10, 17), v="10"),
        ev("up", ms(2026, 6, 10), v="5"),
        ev("down", ms(2026, 6, 20), v="-3"),
    ]
    assert quantity(meter(Aggregation.WEIGHTED_SUM), stored, june, july) == "12.4"


def test_weighted_sum_carries_the_level_with_no_change_in_the_period_and_per_group():
    stored = [ev("a", ms(2026, 5, 3), v="10", seat="pro"), ev("b", ms(2026, 5, 4), v="2")]
    assert usage(
        meter(Aggregation.WEIGHTED_SUM, group_by=["seat"]),
        stored,
        ms(2026, 6, 1),
        ms(2026, 7, 1),
        group_by=["seat"],
    ) == [
        (ms(2026, 6, 1), ms(2026, 7, 1), {"seat": "pro"}, "10"),
        (ms(2026, 6, 1), ms(2026, 7, 1), {}, "2"),
    ]


def test_weighted_sum_changes_at_the_same_instant_all_apply():
    stored = [ev("a", T0 + DAY_MS // 2, v="4"), ev("b", T0 + DAY_MS // 2, v="-1")]
    assert quantity(meter(Aggregation.WEIGHTED_SUM), stored) == "1.5"


def test_day_windows_over_three_days_each_carry_the_weighted_level():
    stored = [ev("a", T0 + 6 * HOUR_MS, v="8"), ev("b", T0 + DAY_MS + 12 * HOUR_MS, v="4")]
    assert usage(meter(Aggregation.WEIGHTED_SUM), stored, T0, T0 + 3 * DAY_MS, Window.DAY) == [
        (T0, T0 + DAY_MS, {}, "6"),
        (T0 + DAY_MS, T0 + 2 * DAY_MS, {}, "10"),
        (T0 + 2 * DAY_MS, T0 + 3 * DAY_MS, {}, "12"),
    ]
    assert usage(meter(Aggregation.SUM), stored, T0, T0 + 3 * DAY_MS, Window.DAY) == [
        (T0, T0 + DAY_MS, {}, "8"),
        (T0 + DAY_MS, T0 + 2 * DAY_MS, {}, "4"),
        (T0 + 2 * DAY_MS, T0 + 3 * DAY_MS, {}, "0"),
    ]


def test_windows_are_cut_at_the_period_bounds_and_follow_calendar_months():
    start, end = ms(2026, 1, 30, 18), ms(2026, 3, 2, 6)
    assert window_spans(start, end, Window.MONTH) == [
        (start, ms(2026, 2, 1)),
        (ms(2026, 2, 1), ms(2026, 3, 1)),
        (ms(2026, 3, 1), end),
    ]
    assert window_spans(ms(2025, 12, 31, 23, 59, 30), ms(2026, 1, 1, 0, 1), Window.MINUTE) == [
        (ms(2025, 12, 31, 23, 59, 30), ms(2026, 1, 1)),
        (ms(2026, 1, 1), ms(2026, 1, 1, 0, 1)),
    ]
    assert window_spans(start, end, Window.WHOLE) == [(start, end)]


def test_minute_windows_split_an_hour():
    stored = [ev("a", T0 + 30_000, v="1"), ev("b", T0 + 60_000, v="2"), ev("c", T0 + 119_999, v="3")]
    assert usage(meter(Aggregation.SUM), stored, T0, T0 + 180_000, Window.MINUTE) == [
        (T0, T0 + 60_000, {}, "1"),
        (T0 + 60_000, T0 + 120_000, {}, "5"),
        (T0 + 120_000, T0 + 180_000, {}, "0"),
    ]


def test_group_by_splits_per_group_with_a_null_group_and_merges_by_default():
    definition = meter(Aggregation.SUM, group_by=["region", "tier"])
    stored = [
        ev("a", T0, v="1", region="eu", tier="x"),
        ev("b", T0 + 1, v="2", region="eu"),
        ev("c", T0 + 2, v="4", tier="x"),
        ev("d", T0 + 3, v="8"),
    ]
    end = T0 + DAY_MS
    assert usage(definition, stored, T0, end, group_by=["region"]) == [
        (T0, end, {"region": "eu"}, "3"),
        (T0, end, {}, "12"),
    ]
    assert usage(definition, stored, T0, end, group_by=["region", "tier"]) == [
        (T0, end, {"region": "eu", "tier": "x"}, "1"),
        (T0, end, {"region": "eu"}, "2"),
        (T0, end, {"tier": "x"}, "4"),
        (T0, end, {}, "8"),
    ]
    assert usage(definition, stored, T0, end) == [(T0, end, {}, "15")]


def test_periods_are_half_open():
    stored = [ev("at-start", T0, v="1"), ev("inside", T0 + 5, v="2"), ev("at-end", T0 + DAY_MS, v="4")]
    assert quantity(meter(Aggregation.SUM), stored) == "3"
    assert quantity(meter(Aggregation.SUM), stored, T0 + DAY_MS, T0 + 2 * DAY_MS) == "4"


def test_filters_select_events():
    definition = meter(Aggregation.SUM, filters=[PropertyFilter("model", FilterOperator.IN, ("big", "huge"))])
    stored = [ev("a", T0, v="1", model="big"), ev("b", T0, v="2", model="small"), ev("c", T0, v="4")]
    assert quantity(definition, stored) == "1"


def test_query_problems_name_their_fields():
    bad = UsageQuery("", "", T0, T0, Window.WHOLE, ("region", "region"))
    assert [p.field for p in query_problems(bad, prefix="queries[2].")] == [
        "queries[2].customer",
        "queries[2].meter_id",
        "queries[2].period",
        "queries[2].group_by",
    ]
    year = UsageQuery("acme", "m", T0, T0 + 365 * DAY_MS, Window.MINUTE)
    assert [p.field for p in query_problems(year)] == ["window"]
    assert MAX_WINDOWS == 31 * 24 * 60
    month = UsageQuery("acme", "m", ms(2026, 1, 1), ms(2026, 2, 1), Window.MINUTE)
    assert query_problems(month) == []
    grouped = UsageQuery("acme", "m", T0, T0 + 1, group_by=("tier",))
    (problem,) = group_by_problems(meter(Aggregation.SUM, group_by=["region"]), grouped)
    assert problem.field == "group_by" and "tier" in problem.reason


def test_an_update_mask_names_mutable_fields_only():
    assert update_fields([]) == ("name", "event_type", "aggregation", "value_property", "filters", "group_by")
    assert update_fields(["name", "name"]) == ("name",)
    with pytest.raises(InvalidArgument) as refused:
        update_fields(["key", "colour"])
    assert [v.field for v in refused.value.violations] == ["update_mask", "update_mask"]


def test_renaming_keeps_rollups_but_changing_selection_restates_them():
    before = meter(Aggregation.SUM, group_by=["region"])
    renamed = MeterChange(name="Calls").applied_to(before)
    assert renamed.name == "Calls" and not restates_usage(before, renamed)
    regrouped = MeterChange(group_by=()).applied_to(before)
    assert restates_usage(before, regrouped)
    with pytest.raises(InvalidArgument) as refused:
        MeterChange(value_property="", aggregation=Aggregation.MAX).applied_to(before)
    assert [v.field for v in refused.value.violations] == ["meter.value_property"]
