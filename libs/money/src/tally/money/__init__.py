"""Money: Decimal amounts with ISO 4217 currencies and the one rounding policy."""

from tally.money.currencies import UnknownCurrency, is_known, minor_units
from tally.money.money import CurrencyMismatch, Money, parse_decimal, total
from tally.money.rounding import line_tax, quantum, round_line

__all__ = [
    "CurrencyMismatch",
    "Money",
    "UnknownCurrency",
    "is_known",
    "line_tax",
    "minor_units",
    "parse_decimal",
    "quantum",
    "round_line",
    "total",
]
