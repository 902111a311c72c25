from decimal import Decimal

import pytest

from tally.domain.errors import InvalidArgument
from tally.money import CurrencyMismatch, Money, UnknownCurrency, minor_units, round_line, total


def test_minor_units_follow_iso_4217():
    assert (minor_units("USD"), minor_units("JPY"), minor_units("BHD")) == (2, 0, 3)


def test_unknown_currency_is_refused_with_the_code():
    with pytest.raises(UnknownCurrency, match="'XYZ'"):
        Money(Decimal("1"), "XYZ")


# docs/pricing.md, rounding: a unit price of 0.0004 x 12,345 units = 4.938 -> 4.94 USD, 5 JPY.
def test_rounding_worked_example_usd_and_jpy():
    amount = Decimal("0.0004") * 12345
    assert amount == Decimal("4.938")
    assert round_line(amount, "USD") == Decimal("4.94")
    assert round_line(amount, "JPY") == Decimal("5")


def test_rounding_is_half_up_not_bankers():
    assert round_line(Decimal("0.125"), "USD") == Decimal("0.13")
    assert round_line(Decimal("2.5"), "JPY") == Decimal("3")
    assert round_line(Decimal("1.0005"), "BHD") == Decimal("1.001")
    assert round_line(Decimal("-0.125"), "USD") == Decimal("-0.13")


def test_tax_is_computed_on_the_rounded_line_r2():
    # 10.005 rounds to 10.01 first; 7.5 % of 10.01 = 0.75075 -> 0.75.
    assert Money(Decimal("10.005"), "USD").tax(Decimal("7.5")) == Money(Decimal("0.75"), "USD")


def test_invoice_total_is_the_sum_of_rounded_lines():
    lines = [Money(Decimal("0.333"), "USD")] * 3
    assert total((line.rounded() for line in lines), "USD") == Money(Decimal("0.99"), "USD")


def test_arithmetic_never_mixes_currencies():
    with pytest.raises(CurrencyMismatch):
        Money(Decimal(1), "USD") + Money(Decimal(1), "EUR")


def test_float_is_refused():
    with pytest.raises(TypeError):
        Money(1.5, "USD")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(Decimal(1), "USD") * 1.5  # type: ignore[operator]


def test_parse_names_the_field():
    with pytest.raises(InvalidArgument) as info:
        Money.parse("12,50", "USD", field="minimum_commitment.amount")
    assert info.value.violations[0].field == "minimum_commitment.amount"
    with pytest.raises(InvalidArgument) as info:
        Money.parse("1", "usd", currency_field="price.currency")
    assert info.value.violations[0].field == "price.currency"
    assert Money.parse("12.50", "USD").wire_amount() == "12.50"
