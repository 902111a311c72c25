from dataclasses import dataclass, field

import pytest

from tally.ingestion.domain import ValidationPolicy, nfc_customer, validate_event

NOW = 1_790_000_000_000
DAY = 24 * 3600 * 1000


@dataclass
class Event:
    event_id: str = "evt-1"
    customer: str = "acme"
    event_type: str = "api_call"
    timestamp_ms: int = NOW
    properties: dict[str, str] = field(default_factory=dict)


POLICY = ValidationPolicy(
    now_ms=NOW, backfill_horizon_ms=7 * DAY, numeric_properties={"api_call": ("bytes",), "storage": ("gb",)}
)


def test_a_good_event_is_accepted():
    assert validate_event(0, Event(properties={"bytes": "1024.5", "region": "eu"}), POLICY) is None


@pytest.mark.parametrize(
    ("event", "code", "field"),
    [
        (Event(event_id=""), "MISSING_EVENT_ID", "events[4].event_id"),
        (Event(event_id="x" * 256), "EVENT_ID_TOO_LONG", "events[4].event_id"),
        (Event(customer=""), "MISSING_CUSTOMER", "events[4].customer"),
        (Event(event_type=""), "MISSING_EVENT_TYPE", "events[4].event_type"),
        (Event(timestamp_ms=0), "MISSING_TIMESTAMP", "events[4].timestamp_ms"),
        (Event(timestamp_ms=NOW + 5 * 60 * 1000 + 1), "TIMESTAMP_IN_FUTURE", "events[4].timestamp_ms"),
        (Event(timestamp_ms=NOW - 8 * DAY), "TIMESTAMP_TOO_OLD", "events[4].timestamp_ms"),
        (Event(properties={f"p{i}": "v" for i in range(51)}), "TOO_MANY_PROPERTIES", "events[4].properties"),
        (Event(properties={"bytes": "12kb"}), "VALUE_NOT_A_NUMBER", "events[4].properties['bytes']"),
        (Event(properties={"bytes": "NaN"}), "VALUE_NOT_A_NUMBER", "events[4].properties['bytes']"),
        (Event(properties={"bytes": "1_000"}), "VALUE_NOT_A_NUMBER", "events[4].properties['bytes']"),
        (Event(properties={"bytes": "\u0661\u0662"}), "VALUE_NOT_A_NUMBER", "events[4].properties['bytes']"),
        (Event(properties={"bytes": "1E+999999"}), "VALUE_OUT_OF_RANGE", "events[4].properties['bytes']"),
        (Event(properties={"bytes": "1e-19"}), "VALUE_OUT_OF_RANGE", "events[4].properties['bytes']"),
        (Event(customer="  \t"), "MISSING_CUSTOMER", "events[4].customer"),
        (Event(timestamp_ms=-1), "TIMESTAMP_TOO_OLD", "events[4].timestamp_ms"),
        (Event(properties={"note": "x" * 1025}), "PROPERTY_VALUE_TOO_LONG", "events[4].properties['note']"),
        (Event(event_id="a\x00b"), "INVALID_CHARACTER", "events[4].event_id"),
        (Event(customer="acme\x00"), "INVALID_CHARACTER", "events[4].customer"),
        (Event(event_type="\x00call"), "INVALID_CHARACTER", "events[4].event_type"),
        (Event(properties={"note": "a\x00"}), "INVALID_CHARACTER", "events[4].properties['note']"),
        (Event(properties={"n\x00": "a"}), "INVALID_CHARACTER", "events[4].properties['n\\x00']"),
    ],
)
def test_each_bad_event_is_rejected_with_code_and_field(event, code, field):
    rejection = validate_event(4, event, POLICY)
    assert rejection is not None
    assert (rejection.index, rejection.code, rejection.field) == (4, code, field)
    assert rejection.reason


def test_exactly_five_minutes_ahead_is_still_accepted():
    assert validate_event(0, Event(timestamp_ms=NOW + 5 * 60 * 1000), POLICY) is None


def test_old_events_pass_only_in_a_backfill_batch():
    old = Event(timestamp_ms=NOW - 30 * DAY)
    backfill = ValidationPolicy(now_ms=NOW, backfill_horizon_ms=7 * DAY, backfill=True)
    assert validate_event(0, old, POLICY) is not None
    assert validate_event(0, old, backfill) is None


def test_a_value_property_must_be_a_number_only_for_the_event_types_its_meters_select():
    assert validate_event(0, Event(event_type="upload", properties={"bytes": "12kb"}), POLICY) is None
    rejection = validate_event(2, Event(event_type="storage", properties={"gb": "lots"}), POLICY)
    assert rejection is not None
    assert (rejection.code, rejection.field) == ("VALUE_NOT_A_NUMBER", "events[2].properties['gb']")
    assert "'gb'" in rejection.reason and "'lots'" in rejection.reason


def test_an_event_lacking_the_value_property_is_accepted_and_left_for_the_meter_to_ignore():
    assert validate_event(0, Event(properties={"region": "eu"}), POLICY) is None


@pytest.mark.parametrize("value", ["0", "-3", "1e3", "1520", "0.000001"])
def test_decimal_strings_are_numbers(value):
    assert validate_event(0, Event(properties={"bytes": value}), POLICY) is None


@pytest.mark.parametrize("value", ["", "Infinity", "-inf", "1,5", "12 kb"])
def test_non_decimal_strings_are_not_numbers(value):
    rejection = validate_event(0, Event(properties={"bytes": value}), POLICY)
    assert rejection is not None and rejection.code == "VALUE_NOT_A_NUMBER"


def test_property_name_length_is_limited():
    rejection = validate_event(0, Event(properties={"n" * 129: "v"}), POLICY)
    assert rejection is not None and rejection.code == "PROPERTY_NAME_INVALID"
    assert validate_event(0, Event(properties={"n" * 128: "v" * 1024}), POLICY) is None


def test_a_rejected_id_keeps_no_nul_so_the_rejection_itself_can_be_stored():
    rejection = validate_event(0, Event(event_id="a\x00b"), POLICY)
    assert rejection is not None
    assert rejection.event_id == "a\ufffdb"
    assert "NUL" in rejection.reason


def test_a_timestamp_before_1970_is_too_old_even_in_a_backfill():
    backfill = ValidationPolicy(now_ms=NOW, backfill_horizon_ms=7 * DAY, backfill=True)
    assert validate_event(0, Event(timestamp_ms=NOW - 400 * DAY), backfill) is None
    rejection = validate_event(0, Event(timestamp_ms=-(2**63)), backfill)
    assert rejection is not None and rejection.code == "TIMESTAMP_TOO_OLD"


def test_customer_ids_are_stored_in_nfc():
    assert nfc_customer("cafe\u0301") == "caf\u00e9"
    assert nfc_customer("caf\u00e9") == "caf\u00e9"
    assert nfc_customer("acme-1") == "acme-1"
