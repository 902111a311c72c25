"""Money: a Decimal amount in one ISO 4217 currency; arithmetic never mixes currencies."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from tally.domain.errors import InvalidArgument
from tally.domain.numbers import parse_number, parse_wide_decimal
from tally.money.currencies import UnknownCurrency, is_known
from tally.money.rounding import line_tax, round_line


class CurrencyMismatch(ValueError):
    """Two amounts in different currencies were combined."""


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in full precision; ``rounded()`` applies R1 when it becomes an invoice line."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError(f"Money amount must be a Decimal, got {type(self.amount).__name__}")
        if not is_known(self.currency):
            raise UnknownCurrency(self.currency)
        if not self.amount.is_finite():
            raise ValueError(f"Money amount must be finite, got {self.amount}")

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    @classmethod
    def parse(
        cls, amount: str, currency: str, *, field: str = "amount", currency_field: str = "currency"
    ) -> Money:
        """Build from wire strings, refusing anything that is not a finite decimal or a known currency."""
        if not is_known(currency):
            raise InvalidArgument.field(currency_field, str(UnknownCurrency(currency)))
        return cls(parse_number(amount, field=field), currency)

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        if isinstance(factor, float):
            raise TypeError("multiply Money by a Decimal or int, never a float")
        return Money(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    def is_zero(self) -> bool:
        return self.amount == 0

    def rounded(self) -> Money:
        """R1: this amount rounded half-up to the currency's minor unit."""
        return Money(round_line(self.amount, self.currency), self.currency)

    def tax(self, rate_percent: Decimal) -> Money:
        """R2: tax at ``rate_percent`` on this amount once rounded, rounded the same way."""
        return Money(
            line_tax(round_line(self.amount, self.currency), rate_percent, self.currency), self.currency
        )

    def wire_amount(self) -> str:
        """The amount as a plain decimal string (no exponent), as the contracts carry it."""
        return format(self.amount, "f")

    def __str__(self) -> str:
        return f"{self.wire_amount()} {self.currency}"


def total(amounts: Iterable[Money], currency: str) -> Money:
    """Sum of ``amounts``, all in ``currency``; zero when empty."""
    result = Money.zero(currency)
    for amount in amounts:
        result = result + amount
    return result


def parse_decimal(raw: str, *, field: str, allow_negative: bool = True) -> Decimal:
    """A finite Decimal from a wire string a peer computed, or InvalidArgument naming ``field``.

    Plain decimal notation bounded in length and magnitude (``tally.domain.numbers.parse_wide_decimal``);
    input from outside (prices, quantities, amounts) goes through ``tally.domain.numbers.parse_number``.
    """
    if not isinstance(raw, str):
        raise InvalidArgument.field(field, f"must be a decimal number, got {raw!r}")
    value = parse_wide_decimal(raw, field=field)
    if not allow_negative and value < 0:
        raise InvalidArgument.field(field, f"must not be negative, got {raw!r}")
    return value
