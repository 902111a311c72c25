"""What metering cannot apply: numbers beyond the range it counts, and text its tables cannot hold."""

import pytest

from tally.metering.quarantine import Unappliable, why_unappliable
from tally.metering.recording.payload import properties_json


def problem(**properties: str) -> Unappliable | None:
    """The answer, checked to be the same with and without the recorder's JSON text (its fast path)."""
    found = why_unappliable("e1", "acme", "call", properties)
    assert why_unappliable("e1", "acme", "call", properties, properties_json(properties)) == found
    return found


@pytest.mark.parametrize(
    "value",
    [
        "1E+999999",
        "1e999999",
        " -2.5E+6145 ",
        "\t1E+9999",
        "1.E9999",
        "1E-6145",
        "9" * 6146,
        "1_0e9999",
        "١E+9999",
        "0." + "0" * 6145 + "1",
    ],
)
def test_a_number_beyond_the_range_is_unappliable_naming_the_property(value):
    found = problem(region="eu-west", v=value)
    assert found is not None
    assert found.field == "properties.v"
    assert "is out of range" in found.reason


@pytest.mark.parametrize(
    "value",
    [
        "1E+6144",
        "-9.99E+6144",
        "1E-6144",
        "9" * 6145,
        "eu-west",
        "e",
        "1e",
        "Infinity",
        "NaN",
        "x" * 10_000,
        "12345678901234567890123456789012345678901234567890",
        "größe",
    ],
)
def test_anything_else_is_applied_as_it_is(value):
    assert problem(v=value) is None


def test_nul_in_an_id_or_a_property_is_unappliable():
    assert why_unappliable("a\x00b", "acme", "call", {}) == Unappliable(
        "event_id", "contains a NUL character, which the events table cannot store"
    )
    assert why_unappliable("e1", "acme\x00", "call", {}).field == "customer"
    assert problem(**{"k\x00": "1"}).field == "properties.k\\x00"
    assert problem(v="1\x00").field == "properties.v"
