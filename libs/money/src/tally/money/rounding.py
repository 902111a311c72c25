"""The one rounding policy of docs/pricing.md: R1 (once per invoice line, half-up to the minor unit) and R2 (tax)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from tally.money.currencies import minor_units


def quantum(currency: str) -> Decimal:
    """The smallest amount of ``currency``: 0.01 for USD, 1 for JPY, 0.001 for BHD."""
    return Decimal(1).scaleb(-minor_units(currency))


def round_line(amount: Decimal, currency: str) -> Decimal:
    """R1: a line amount computed in full precision, rounded half-up to the currency's minor unit."""
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


def line_tax(rounded_line: Decimal, rate_percent: Decimal, currency: str) -> Decimal:
    """R2: tax on the already rounded line amount, rounded the same way as the line."""
    return round_line(rounded_line * rate_percent / Decimal(100), currency)
