"""The one numeric domain: which texts are numbers, the bounds, the reason codes, and exact arithmetic."""

import time
from decimal import Decimal, Inexact

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tally.domain.errors import InvalidArgument
from tally.domain.numbers import (
    ARITHMETIC,
    VALUE_NOT_A_NUMBER,
    VALUE_OUT_OF_RANGE,
    NumberError,
    arithmetic,
    exact,
    parse_number,
    parse_wide_decimal,
    read_number,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12", Decimal(12)),
        ("-0.5", Decimal("-0.5")),
        ("+3", Decimal(3)),
        (".5", Decimal("0.5")),
        ("5.", Decimal(5)),
        ("1.5E+3", Decimal(1500)),
        ("1e-18", Decimal("1E-18")),
        ("999999999999999999999", Decimal("999999999999999999999")),  # 21 digits
        ("0.123456789012345678", Decimal("0.123456789012345678")),  # 18 places
        ("1.500000000000000000000000000000", Decimal("1.5")),  # trailing zeros are not precision
        ("0", Decimal(0)),
        ("0E+999999", Decimal(0)),
    ],
)
def test_numbers_of_the_domain_are_read_exactly(text, value):
    assert read_number(text) == value


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("1_000", VALUE_NOT_A_NUMBER),
        ("\u0661\u0662\u0663", VALUE_NOT_A_NUMBER),  # Arabic-Indic digits
        ("\uff11", VALUE_NOT_A_NUMBER),  # fullwidth 1
        ("NaN", VALUE_NOT_A_NUMBER),
        ("-Infinity", VALUE_NOT_A_NUMBER),
        (" 1", VALUE_NOT_A_NUMBER),
        ("", VALUE_NOT_A_NUMBER),
        ("1.2.3", VALUE_NOT_A_NUMBER),
        ("0x10", VALUE_NOT_A_NUMBER),
        ("1E+999999", VALUE_OUT_OF_RANGE),
        ("1E+999999999", VALUE_OUT_OF_RANGE),
        ("1E+" + "9" * 40, VALUE_OUT_OF_RANGE),
        ("1E-" + "9" * 40, VALUE_OUT_OF_RANGE),
        ("1e21", VALUE_OUT_OF_RANGE),
        ("0.0000000000000000001", VALUE_OUT_OF_RANGE),  # 19 places
        ("123456789012345.123456789012345678", VALUE_OUT_OF_RANGE),  # 33 significant digits
        ("1" * 65, VALUE_OUT_OF_RANGE),
    ],
)
def test_other_texts_are_refused_with_their_code(text, code):
    with pytest.raises(NumberError) as refused:
        read_number(text)
    assert refused.value.code == code


def test_a_huge_exponent_or_a_megabyte_of_digits_is_refused_at_once():
    started = time.monotonic()
    for text in ("1E+999999999", "9" * 4_000_000, "1E+999999999999999999999999"):
        with pytest.raises(NumberError):
            read_number(text)
    assert time.monotonic() - started < 0.05


def test_parse_number_names_the_field_and_the_code():
    with pytest.raises(InvalidArgument) as refused:
        parse_number("1E+999999999", field="price.unit.unit_price")
    [violation] = refused.value.violations
    assert violation.field == "price.unit.unit_price"
    assert violation.reason.startswith("VALUE_OUT_OF_RANGE: ")
    with pytest.raises(InvalidArgument, match="must not be negative"):
        parse_number("-1", field="quantity", allow_negative=False)
    assert parse_number(" 2.50 ", field="amount") == Decimal("2.50")


def test_wide_decimals_from_peers_keep_many_places_but_not_huge_magnitudes():
    average = "3.333333333333333333333333333"
    assert parse_wide_decimal(average, field="quantity") == Decimal(average)
    for text in ("1E+999999999", "1_0", "NaN"):
        with pytest.raises(InvalidArgument):
            parse_wide_decimal(text, field="quantity")


def test_arithmetic_inside_the_domain_is_exact_and_exact_traps_rounding():
    price, quantity = Decimal("0.123456789012345678"), Decimal("123456789012345678901")
    with exact():
        assert price * quantity == Decimal("15241578753238836639.202866665403139878")
        with pytest.raises(Inexact):
            _ = Decimal(1) / Decimal(3)
    with arithmetic():
        third = Decimal(1) / Decimal(3)
    assert len(third.as_tuple().digits) == 100


@settings(max_examples=300, deadline=None)
@given(st.decimals(allow_nan=False, allow_infinity=False, places=None))
def test_plain_and_exponent_spellings_of_one_number_get_one_verdict(value):
    """The plain spelling is judged on its text (the fast path), the exponent one on the Decimal: same answer."""

    def verdict(text):
        try:
            return read_number(text)
        except NumberError as exc:
            return exc.code

    plain, scientific = (
        format(value, "f"),
        f"{value:E}" if value.is_zero() else str(value.normalize(ARITHMETIC)),
    )
    if len(plain) <= 64 and len(scientific) <= 64:
        assert verdict(plain) == verdict(scientific)
