"""The one numeric domain for usage values, prices and quantities: what a number may look like on the way in,
and the Decimal context arithmetic inside it runs in.

Every edge that reads a number from outside (an event's meter value at ingestion, a price, tier or quantity
in the catalog, quoting or ``tally rate``) parses it here, so a value accepted at one edge can be stored,
summed, multiplied and printed at every other without overflow or silent rounding:

- plain ASCII decimal notation only, optionally with an exponent (``12``, ``-0.5``, ``1.5E+3``): Python's
  Decimal would also take ``1_000``, non-ASCII digits, ``NaN`` and ``Infinity``, which no other tool reads
  as those numbers;
- at most ``MAX_SIGNIFICANT_DIGITS`` significant digits, at most ``MAX_INTEGER_DIGITS`` digits before the
  point (magnitude below 10^21) and at most ``MAX_FRACTION_DIGITS`` after it (trailing zeros of a
  fraction do not count: ``1.500000000000000000000`` is 1.5).

Inside the domain a sum of a billion values and a price times a quantity stay below 10^60 with at most 18
places, so ``ARITHMETIC`` (100 digits) holds every result exactly; ``exact()`` also traps Inexact for the
computations that must never round (sums, products), while rounding to an invoice line stays explicit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import (
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    localcontext,
)

from tally.domain.errors import InvalidArgument

MAX_SIGNIFICANT_DIGITS = 30
"""Significant digits a number may carry (trailing zeros of a fraction not counted)."""
MAX_INTEGER_DIGITS = 21
"""Digits before the decimal point: every number is below 10^21 in magnitude."""
MAX_FRACTION_DIGITS = 18
"""Digits after the decimal point (trailing zeros not counted)."""
MAX_TEXT_LENGTH = 64
"""Longest text read as a number; checked before parsing so a megabyte of digits costs nothing."""

VALUE_OUT_OF_RANGE = "VALUE_OUT_OF_RANGE"
"""Reason code of a well-formed number outside the domain (ingestion's per-event code)."""
VALUE_NOT_A_NUMBER = "VALUE_NOT_A_NUMBER"
"""Reason code of a text that is not a number in plain decimal notation."""

ARITHMETIC = Context(prec=100, Emax=999, Emin=-999, traps=[InvalidOperation, DivisionByZero, Overflow])
"""Context for arithmetic on numbers of the domain: wide enough that sums and products never round."""

_NOTATION = re.compile(r"[+-]?(?:([0-9]+)(?:\.([0-9]*))?|\.([0-9]+))([eE][+-]?[0-9]+)?", re.ASCII)


class NumberError(ValueError):
    """Why a text is not a number of the domain; ``code`` is VALUE_NOT_A_NUMBER or VALUE_OUT_OF_RANGE."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def read_number(raw: str) -> Decimal:
    """The Decimal ``raw`` spells, or NumberError saying why it is not a number of the domain."""
    if len(raw) > MAX_TEXT_LENGTH:
        raise NumberError(VALUE_OUT_OF_RANGE, f"is longer than {MAX_TEXT_LENGTH} characters")
    spelled = _NOTATION.fullmatch(raw)
    if spelled is None:
        raise NumberError(
            VALUE_NOT_A_NUMBER,
            f"must be a decimal number (ASCII digits, an optional point and exponent), got {raw[:40]!r}",
        )
    integer, fraction, only_fraction, exponent = spelled.groups()
    if exponent is None:
        # The hot path (every meter value at ingestion): count digits on the text, no Decimal walk.
        whole = (integer or "").lstrip("0")
        places = (fraction or only_fraction or "").rstrip("0")
        if len(whole) > MAX_INTEGER_DIGITS:
            raise NumberError(VALUE_OUT_OF_RANGE, f"must be below 10^{MAX_INTEGER_DIGITS} in magnitude")
        if len(places) > MAX_FRACTION_DIGITS:
            raise NumberError(
                VALUE_OUT_OF_RANGE, f"has more than {MAX_FRACTION_DIGITS} digits after the decimal point"
            )
        if len((whole + places).strip("0")) > MAX_SIGNIFICANT_DIGITS:
            raise NumberError(
                VALUE_OUT_OF_RANGE, f"has more than {MAX_SIGNIFICANT_DIGITS} significant digits"
            )
        return Decimal(raw)
    try:
        value = Decimal(raw)
    except InvalidOperation:  # an exponent beyond what Decimal itself can hold
        raise NumberError(VALUE_OUT_OF_RANGE, "has an exponent far outside the range of numbers") from None
    check_in_domain(value)
    return value


def check_in_domain(value: Decimal) -> None:
    """NumberError(VALUE_OUT_OF_RANGE) unless ``value`` is finite and within the digit and magnitude bounds."""
    if not value.is_finite():
        raise NumberError(VALUE_NOT_A_NUMBER, f"must be a finite decimal number, got {value}")
    if value.is_zero():
        return
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite, checked above
    # Trailing zeros of the coefficient only move the exponent: 1.500 is 15 × 10^-1.
    significant = len(digits)
    while significant > 1 and digits[significant - 1] == 0:
        significant -= 1
        exponent += 1
    integer_digits = significant + exponent
    if integer_digits > MAX_INTEGER_DIGITS:
        raise NumberError(VALUE_OUT_OF_RANGE, f"must be below 10^{MAX_INTEGER_DIGITS} in magnitude")
    if -exponent > MAX_FRACTION_DIGITS:
        raise NumberError(
            VALUE_OUT_OF_RANGE, f"has more than {MAX_FRACTION_DIGITS} digits after the decimal point"
        )
    if significant > MAX_SIGNIFICANT_DIGITS:
        raise NumberError(VALUE_OUT_OF_RANGE, f"has more than {MAX_SIGNIFICANT_DIGITS} significant digits")


def parse_number(raw: str, *, field: str, allow_negative: bool = True) -> Decimal:
    """A number of the domain from a wire string (surrounding blanks ignored), or InvalidArgument naming
    ``field`` and the reason (the reason starts with VALUE_OUT_OF_RANGE when the number is too big, too
    small or too precise)."""
    try:
        value = read_number(raw.strip())
    except NumberError as exc:
        prefix = f"{VALUE_OUT_OF_RANGE}: " if exc.code == VALUE_OUT_OF_RANGE else ""
        raise InvalidArgument.field(field, f"{prefix}{exc.reason}") from None
    if not allow_negative and value < 0:
        raise InvalidArgument.field(field, f"must not be negative, got {raw.strip()!r}")
    return value


WIDE_MAX_TEXT_LENGTH = 128
WIDE_MAX_ADJUSTED_EXPONENT = 60


def parse_wide_decimal(raw: str, *, field: str) -> Decimal:
    """A finite decimal a peer computed (a usage quantity, an average with many places): the same notation
    as the domain and bounded in length and magnitude (|x| < 10^61, so ``1E+999999999`` costs nothing), but
    not held to the domain's digit limits; InvalidArgument naming ``field`` otherwise."""
    text = raw.strip()
    if len(text) > WIDE_MAX_TEXT_LENGTH:
        raise InvalidArgument.field(
            field, f"{VALUE_OUT_OF_RANGE}: is longer than {WIDE_MAX_TEXT_LENGTH} characters"
        )
    if not _NOTATION.fullmatch(text):
        raise InvalidArgument.field(field, f"must be a decimal number, got {raw[:40]!r}")
    try:
        value = Decimal(text)
    except InvalidOperation:  # an exponent beyond what Decimal itself can hold
        value = Decimal("1E+999")
    if not value.is_zero() and abs(value.adjusted()) > WIDE_MAX_ADJUSTED_EXPONENT:
        raise InvalidArgument.field(
            field, f"{VALUE_OUT_OF_RANGE}: {text[:40]!r} is beyond 10^±{WIDE_MAX_ADJUSTED_EXPONENT}"
        )
    return value


def is_number(raw: str) -> bool:
    """True when ``raw`` is a number of the domain."""
    try:
        read_number(raw)
    except NumberError:
        return False
    return True


@contextmanager
def arithmetic() -> Iterator[Context]:
    """Run Decimal arithmetic on domain numbers in ``ARITHMETIC``: no rounding below 100 digits, Overflow trapped."""
    with localcontext(ARITHMETIC) as context:
        yield context


@contextmanager
def exact() -> Iterator[Context]:
    """Like ``arithmetic`` but any rounding at all raises ``decimal.Inexact``: for sums and products."""
    with localcontext(ARITHMETIC) as context:
        context.traps[Inexact] = True
        yield context
