"""Quotes: what a draft quote must contain, its lifecycle states and its gap-free number (pure)."""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from tally.domain.errors import FieldViolation, InvalidArgument
from tally.money import is_known

NUMBER_PREFIX = "Q-"
MAX_TERM_MONTHS = 120


class QuoteStatus(enum.StrEnum):
    """Where a quote is in its lifecycle; only DRAFT can be changed."""

    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    ACCEPTED = "ACCEPTED"
    EXPIRED = "EXPIRED"


@dataclass(frozen=True)
class QuoteLineInput:
    """One quoted charge as the caller sent it."""

    charge_id: str
    description: str = ""
    estimated_quantity: str = ""
    included_quantity: str = ""
    negotiated_price: bool = False
    """Whether the caller sent a price override (accepted once quotes are priced)."""


@dataclass(frozen=True)
class QuoteInput:
    """A quote as the caller asked for it, not yet validated."""

    customer_id: str
    currency: str
    plan_version_id: str = ""
    lines: Sequence[QuoteLineInput] = ()
    valid_until: datetime | None = None
    start_at: datetime | None = None
    billing_cycle: str = ""
    term_months: int = 0


@dataclass(frozen=True)
class QuoteLine:
    """One quoted charge with its estimated and included quantities (None when not given)."""

    charge_id: str
    description: str
    estimated_quantity: Decimal | None
    included_quantity: Decimal | None


@dataclass(frozen=True)
class QuoteTerms:
    """A validated quote's terms."""

    customer_id: str
    currency: str
    plan_version_id: str
    lines: tuple[QuoteLine, ...]
    valid_until: datetime | None
    start_at: datetime | None
    billing_cycle: str
    term_months: int


@dataclass(frozen=True)
class Quote:
    """A stored quote."""

    id: str
    number: str
    status: QuoteStatus
    version: int
    terms: QuoteTerms
    created_at: datetime
    updated_at: datetime


def quote_number(sequence: int) -> str:
    """The printed number of the ``sequence``-th quote: 1 → ``Q-000001``."""
    if sequence < 1:
        raise ValueError(f"quote sequences start at 1, got {sequence}")
    return f"{NUMBER_PREFIX}{sequence:06d}"


def validate_quote(raw: QuoteInput, *, now: datetime, currency_field: str, path: str = "quote") -> QuoteTerms:
    """The terms of a new draft quote, or InvalidArgument naming every bad field under ``path``."""
    problems: list[FieldViolation] = []

    def bad(name: str, reason: str) -> None:
        problems.append(FieldViolation(f"{path}.{name}", reason))

    if not raw.customer_id.strip():
        bad("customer_id", "is required")
    if not is_known(raw.currency):
        problems.append(
            FieldViolation(currency_field, f"unknown currency {raw.currency!r}: expected an ISO 4217 code")
        )
    if raw.valid_until is not None and raw.valid_until <= now:
        bad("valid_until", "must be in the future")
    if not 0 <= raw.term_months <= MAX_TERM_MONTHS:
        bad("term_months", f"must be between 0 and {MAX_TERM_MONTHS}")
    lines = []
    for index, line in enumerate(raw.lines):
        at = f"lines[{index}]"
        if not line.charge_id.strip():
            bad(f"{at}.charge_id", "is required")
        if line.negotiated_price:
            bad(f"{at}.price", "negotiated prices are not accepted yet; quote the plan's price")
        lines.append(
            QuoteLine(
                charge_id=line.charge_id.strip(),
                description=line.description,
                estimated_quantity=_quantity(line.estimated_quantity, f"{at}.estimated_quantity", bad),
                included_quantity=_quantity(line.included_quantity, f"{at}.included_quantity", bad),
            )
        )
    if problems:
        raise InvalidArgument(problems)
    return QuoteTerms(
        customer_id=raw.customer_id.strip(),
        currency=raw.currency,
        plan_version_id=raw.plan_version_id,
        lines=tuple(lines),
        valid_until=raw.valid_until,
        start_at=raw.start_at,
        billing_cycle=raw.billing_cycle,
        term_months=raw.term_months,
    )


def _quantity(raw: str, name: str, bad: Callable[[str, str], None]) -> Decimal | None:
    if not raw.strip():
        return None
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        bad(name, f"must be a decimal number, got {raw!r}")
        return None
    if not value.is_finite() or value < 0:
        bad(name, f"must be a non-negative decimal number, got {raw!r}")
        return None
    return value
