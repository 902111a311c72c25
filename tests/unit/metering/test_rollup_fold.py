"""The hot path's per-meter fold gives exactly the buckets that rebuilds and queries compute event by event."""

import json
import random

import pytest

from tally.metering.aggregation import HOUR_MS, Bucket, contribution, hour_of
from tally.metering.domain import Aggregation, FilterOperator, MeterDefinition, PropertyFilter
from tally.metering.recording.payload import IncomingEvent, properties_json
from tally.metering.rollup_fold import RollupFold

T0 = 1_780_000_000_000 - 1_780_000_000_000 % HOUR_MS
VALUES = ["1", "2.5", "-0.0000001", "1e3", "abc", "NaN", "Infinity", "7"]


def meters():
    found = []
    for aggregation in Aggregation:
        value_property = "" if aggregation is Aggregation.COUNT else "v"
        for label, filters, group_by in [
            ("plain", (), ()),
            ("grouped", (), ("region",)),
            ("filtered", (PropertyFilter("tier", FilterOperator.IN, ("gold", "silver")),), ("region", "az")),
        ]:
            key = f"{aggregation.value.lower()}-{label}"
            definition = MeterDefinition(key, key, "call", aggregation, value_property, filters, group_by)
            found.append((f"m-{key}", definition))
    return found


def random_events(seed, count=400):
    rng = random.Random(seed)
    events = []
    for i in range(count):
        properties = {}
        if rng.random() < 0.8:
            properties["v"] = rng.choice(VALUES)
        if rng.random() < 0.7:
            properties["region"] = rng.choice(["eu", "us"])
        if rng.random() < 0.5:
            properties["az"] = rng.choice(["a", "b"])
        if rng.random() < 0.6:
            properties["tier"] = rng.choice(["gold", "silver", "bronze"])
        events.append(
            IncomingEvent(
                f"e{i % 350}",  # repeated ids tie on latest by (timestamp, event id)
                rng.choice(["acme", "globex"]),
                rng.choice(["call", "call", "other"]),
                T0 + rng.randrange(3 * HOUR_MS) // 1000 * 1000,
                properties,
            )
        )
    return events


def event_by_event(defined, events):
    buckets, uniques = {}, set()
    for meter_id, definition in defined:
        for event in events:
            item = contribution(
                definition, event.event_type, event.properties, event.timestamp_ms, event.event_id
            )
            if item is None:
                continue
            key = (meter_id, event.customer, item.group, hour_of(event.timestamp_ms))
            buckets.setdefault(key, Bucket()).add(item)
            if definition.aggregation is Aggregation.UNIQUE_COUNT:
                uniques.add((*key, item.raw_value))
    for bucket in buckets.values():
        bucket.uniques = set()  # kept in unique_values, not in the rollup row
    return buckets, uniques


@pytest.mark.parametrize("seed", range(5))
def test_the_fold_matches_contributions_added_one_by_one(seed):
    defined = meters()
    events = random_events(seed)
    expected_buckets, expected_uniques = event_by_event(defined, events)

    delta = RollupFold(defined).fold(events[:150])
    RollupFold(defined).fold(events[150:], delta)  # folding in parts adds up to the whole

    assert delta.buckets == expected_buckets
    assert delta.uniques == expected_uniques


def test_properties_are_stored_as_the_canonical_json_fingerprints_were_taken_of():
    properties = {"zeta": "1", "alpha": 'é "quoted" \\ \n', "mid": "☃"}
    assert properties_json(properties) == json.dumps(properties, sort_keys=True, separators=(",", ":"))
    assert properties_json({}) == "{}"
