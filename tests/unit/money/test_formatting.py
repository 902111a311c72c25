"""Money as a reader of one locale writes it: the locale's separators and currency position, R1 rounding (half
up, to the currency's minor unit), and the ISO code wherever the locale's sign is shared by several currencies."""

from decimal import Decimal

import pytest

from tally.money import Money
from tally.money.formatting import format_money, format_number, format_percent, format_price

D = Decimal
NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "printed"),
    [
        (
            "1234.5",
            "USD",
            "en_US",
            f"USD{NBSP}1,234.50",
        ),  # "$" is shared (CAD, AUD, MXN...): the code says which
        ("1234.5", "USD", "en_GB", "US$1,234.50"),  # the locale's own sign already names it
        ("1234.5", "CHF", "de_CH", f"CHF{NBSP}1'234.50"),
        ("1234.5", "CHF", "fr_CH", f"1'234,50{NBSP}CHF"),
        ("12345.5", "JPY", "ja_JP", f"JPY{NBSP}12,346"),  # whole yen, half up; "￥" is shared with CNY
        ("12345.5", "JPY", "en_GB", "JP¥12,346"),
        ("1234.5", "EUR", "de_DE", f"1.234,50{NBSP}€"),
        ("1234.5", "EUR", "en", "€1,234.50"),
        ("1.2345", "BHD", "en", f"BHD{NBSP}1.235"),  # three places
        ("-100", "USD", "en_US", f"-USD{NBSP}100.00"),
        ("0.005", "USD", "en_US", f"USD{NBSP}0.01"),  # half up, where babel alone would round half even
        ("2.125", "GBP", "en_GB", f"GBP{NBSP}2.13"),  # "£" is shared too (EGP, GIP, FKP...)
        ("2.125", "GBP", "en_US", f"GBP{NBSP}2.13"),
    ],
)
def test_money_is_written_per_currency_and_locale(amount, currency, locale, printed):
    assert format_money(Money(D(amount), currency), locale) == printed


def test_unit_prices_keep_their_precision_but_never_fewer_places_than_the_currency():
    assert format_price(D("0.0004"), "USD", "en_US") == f"USD{NBSP}0.0004"
    assert format_price(D("8"), "USD", "en_US") == f"USD{NBSP}8.00"
    assert format_price(D("0.7"), "JPY", "ja_JP") == f"JPY{NBSP}0.7"


def test_quantities_and_rates_use_the_same_separators_as_the_amounts():
    assert format_number(D(15000), "en_US") == "15,000"
    assert format_number(D(15000), "de_DE") == "15.000"
    assert format_number(D("0.68888888"), "de_DE") == "0,688889"
    assert format_percent(D("8.625"), "en_US") == "8.625%"
    assert format_percent(D("20"), "de_DE") == f"20{NBSP}%"


def test_an_unknown_locale_is_written_as_english():
    assert format_money(Money(D("1"), "EUR"), "xx_YY") == "€1.00"
