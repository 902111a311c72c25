"""Money and numbers as a reader of one locale writes them (babel's CLDR data): separators, decimal mark and where the
currency goes follow the locale; amounts follow the one rounding policy.

- An amount is rounded half-up to its currency's minor unit (R1) before it is written: USD 2 places, JPY 0,
  BHD 3 (babel alone would round half-even).
- The currency is written with the locale's symbol only when that symbol names one currency (€, CA$, US$, CHF);
  a bare sign several currencies share ($, ¥, £, kr) is replaced by the ISO code, so "$" never leaves a reader
  guessing: en_US writes USD 1,234.50, de_DE 1.234,50 €, de_CH CHF 1’234.50, ja_JP JPY 12,346.
- Unit prices keep their precision (0.0004) but never show fewer places than the currency has; quantities show
  at most six places.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import NumberPattern, format_decimal, get_currency_symbol, parse_pattern

from tally.money.currencies import minor_units
from tally.money.money import Money
from tally.money.rounding import round_line

DEFAULT_LOCALE = "en"
QUANTITY_PLACES = 6
UNAMBIGUOUS_SIGNS = frozenset({"€"})
"""Signs without letters that name one currency only; any other sign without two letters is shared."""


@lru_cache(maxsize=256)
def locale_of(name: str) -> Locale:
    """The babel locale ``name`` names ("en_US", "ja-JP", "de"); the default when it names none."""
    try:
        return Locale.parse(name.replace("-", "_")) if name else Locale.parse(DEFAULT_LOCALE)
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse(DEFAULT_LOCALE)


def is_known_locale(name: str) -> bool:
    try:
        Locale.parse(name.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return False
    return True


def _ambiguous(sign: str, currency: str) -> bool:
    if sign == currency or sign in UNAMBIGUOUS_SIGNS:
        return False
    return sum(1 for character in sign if character.isalpha() and character.isascii()) < 2


@lru_cache(maxsize=1024)
def _pattern(currency: str, locale: str) -> str:
    """The locale's currency pattern, with the ISO code for a shared sign, and a no-break space between digits and
    a sign that meets them with a letter (as CLDR's currency spacing has it: CHF 1,234.50, but US$1,234.50)."""
    parsed = locale_of(locale)
    pattern = parsed.currency_formats["standard"].pattern
    symbol = get_currency_symbol(currency, parsed)
    iso = _ambiguous(symbol, currency)
    shown = currency if iso else symbol
    sign = "¤¤" if iso else "¤"
    before = sign + ("\u00a0" if shown[-1].isalpha() else "")
    after = ("\u00a0" if shown[0].isalpha() else "") + sign
    pattern = re.sub(r"¤(?=[#0-])", lambda _: before.replace("¤", "\x00"), pattern)
    pattern = re.sub(r"(?<=[#0])¤", lambda _: after.replace("¤", "\x00"), pattern)
    return pattern.replace("¤", sign).replace("\x00", "¤")


def _formatted(amount: Decimal, currency: str, locale: str, places: int) -> str:
    return _exact(currency, locale, places).apply(
        amount, locale_of(locale), currency=currency, currency_digits=False
    )


@lru_cache(maxsize=1024)
def _exact(currency: str, locale: str, places: int) -> NumberPattern:
    """The locale's currency pattern for ``currency`` with exactly ``places`` decimals (parsed once)."""
    parsed = parse_pattern(_pattern(currency, locale))
    return NumberPattern(
        parsed.pattern,
        parsed.prefix,
        parsed.suffix,
        parsed.grouping,
        parsed.int_prec,
        (places, places),
        parsed.exp_prec,
        parsed.exp_plus,
        parsed.number_pattern,
    )


def format_money(money: Money, locale: str = DEFAULT_LOCALE) -> str:
    """``money`` rounded half-up to its currency's minor unit (R1), as the locale writes it."""
    return _formatted(
        round_line(money.amount, money.currency), money.currency, locale, minor_units(money.currency)
    )


def format_price(price: Decimal, currency: str, locale: str = DEFAULT_LOCALE) -> str:
    """A unit price in full precision, never with fewer places than the currency has: USD 0.0004, USD 8.00."""
    exponent = price.normalize().as_tuple().exponent
    places = max(minor_units(currency), -exponent if isinstance(exponent, int) else 0)
    return _formatted(price, currency, locale, places)


def format_number(value: Decimal, locale: str = DEFAULT_LOCALE, *, places: int = QUANTITY_PLACES) -> str:
    """A quantity as the locale writes it, rounded half-up to at most ``places`` decimals: 15,000 · 0,688889."""
    shown = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP).normalize()
    if shown == shown.to_integral_value():
        shown = shown.quantize(Decimal(1))
    return format_decimal(shown, locale=locale_of(locale), decimal_quantization=False)


def format_percent(rate: Decimal, locale: str = DEFAULT_LOCALE) -> str:
    """A rate given in percent (8.625 for 8.625 %), as the locale writes it: 8.625%, 8,625 %."""
    parsed = locale_of(locale)
    pattern = parse_pattern(parsed.percent_formats[None].pattern)
    exponent = rate.normalize().as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    exact = NumberPattern(
        pattern.pattern,
        pattern.prefix,
        pattern.suffix,
        pattern.grouping,
        pattern.int_prec,
        (places, places),
        pattern.exp_prec,
        pattern.exp_plus,
        pattern.number_pattern,
    )
    return exact.apply(rate / 100, parsed)
