from dataclasses import dataclass, field

import pytest

from tally.domain.errors import InvalidArgument
from tally.ingestion.domain import (
    MeterView,
    ValidationPolicy,
    key_scopes,
    numeric_properties,
    validate_batch,
    validate_producer_name,
)

NOW = 1_790_000_000_000
POLICY = ValidationPolicy(now_ms=NOW, backfill_horizon_ms=24 * 3600 * 1000)


@dataclass
class Event:
    event_id: str
    customer: str = "acme"
    event_type: str = "api_call"
    timestamp_ms: int = NOW
    properties: dict[str, str] = field(default_factory=dict)


def test_an_identical_repeat_in_a_batch_is_accepted_and_stored_once():
    events = [Event("a"), Event("b"), Event("a")]
    verdict = validate_batch(events, POLICY)
    assert [e.event_id for e in verdict.accepted] == ["a", "b"]
    assert verdict.accepted_count == 3
    assert verdict.rejected == []


def test_a_repeat_with_another_payload_is_rejected_naming_the_first_occurrence():
    events = [Event("a", properties={"n": "1"}), Event("b"), Event("a", properties={"n": "2"})]
    verdict = validate_batch(events, POLICY)
    assert [e.event_id for e in verdict.accepted] == ["a", "b"]
    assert verdict.accepted_count == 2
    [(rejection, event)] = verdict.rejected
    assert (rejection.index, rejection.code, rejection.field) == (
        2,
        "DUPLICATE_IN_BATCH",
        "events[2].event_id",
    )
    assert "events[0]" in rejection.reason
    assert event is events[2]


def test_a_repeat_of_a_rejected_event_is_judged_on_its_own():
    events = [Event("a", customer=""), Event("a")]
    verdict = validate_batch(events, POLICY)
    assert [e.event_id for e in verdict.accepted] == ["a"]
    assert [(r.index, r.code) for r, _ in verdict.rejected] == [(0, "MISSING_CUSTOMER")]


def test_value_properties_come_from_numeric_meters_only():
    meters = [
        MeterView("m1", "completion", "SUM", "tokens"),
        MeterView("m2", "completion", "MAX", "latency_ms"),
        MeterView("m3", "completion", "UNIQUE_COUNT", "user"),
        MeterView("m4", "api_call", "COUNT", ""),
        MeterView("m5", "seats", "WEIGHTED_SUM", "delta"),
    ]
    assert numeric_properties(meters) == {"completion": ("latency_ms", "tokens"), "seats": ("delta",)}


def test_producer_names_are_required_and_trimmed():
    assert validate_producer_name("  api-gateway ") == "api-gateway"
    with pytest.raises(InvalidArgument) as raised:
        validate_producer_name("   ")
    assert raised.value.violations[0].field == "producer.name"


def test_producer_keys_write_usage_by_default_and_never_get_every_scope():
    assert key_scopes([]) == {"usage:write"}
    assert key_scopes(["usage:read"]) == {"usage:read"}
    for forbidden in ("*", "admin"):
        with pytest.raises(InvalidArgument) as raised:
            key_scopes([forbidden])
        assert raised.value.violations[0].field == "scopes"
