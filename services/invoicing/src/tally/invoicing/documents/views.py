"""What a printed invoice or credit note shows (pure data), and how money and quantities are written on it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from tally.money import Money, minor_units, round_line

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
"""Currencies printed with a leading symbol; every other one prints its code after the amount."""

QUANTITY_PLACES = 6
"""Quantities (a proration factor, say) print at most this many decimals; the line amount is what is billed."""


@dataclass(frozen=True, slots=True)
class Party:
    """The issuer or the customer as printed."""

    name: str
    address_lines: tuple[str, ...] = ()
    tax_id: str = ""
    email: str = ""


@dataclass(frozen=True, slots=True)
class TierRow:
    """One sub-row explaining a line: a tier, a group or included usage."""

    description: str
    units: Decimal
    unit_price: Decimal
    amount: Decimal
    """Full precision, as the price breakdown has it (flat fee included)."""


@dataclass(frozen=True, slots=True)
class LineView:
    """One printed line; amounts already rounded (R1) and taxed (R2)."""

    description: str
    amount: Money
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    service_start: datetime | None = None
    service_end: datetime | None = None
    """Exclusive; printed as the last day served."""
    tiers: tuple[TierRow, ...] = ()


@dataclass(frozen=True, slots=True)
class InvoiceView:
    """An invoice as the customer receives it (or, marked DRAFT, as it stands before it is issued)."""

    number: str
    """Empty on a draft."""
    issuer: Party
    customer: Party
    issue_date: date
    """The day a draft was drafted."""
    due_date: date | None
    """None on a draft."""
    period_start: datetime
    period_end: datetime
    lines: tuple[LineView, ...]
    subtotal: Money
    tax: Money
    credits_applied: Money
    total: Money
    amount_due: Money
    payment_terms: str
    tax_label: str = "Tax"
    """e.g. "VAT 20 %"."""
    draft: bool = False
    """Printed as a DRAFT INVOICE, without number or due date: not a bill yet."""
    voided_date: date | None = None
    """Set on a voided invoice, which is printed marked VOID."""


@dataclass(frozen=True, slots=True)
class CreditNoteView:
    """A credit note: what is credited back against one invoice."""

    number: str
    invoice_number: str
    issuer: Party
    customer: Party
    issue_date: date
    reason: str
    lines: tuple[LineView, ...]
    subtotal: Money
    tax: Money
    total: Money


def _grouped(amount: Decimal, places: int) -> str:
    return f"{amount:,.{places}f}"


def format_money(money: Money) -> str:
    """``$1,234.50``, ``¥12,346``, ``€1,234.50``, ``1,234.567 BHD``: rounded half-up to the minor unit."""
    places = minor_units(money.currency)
    amount = round_line(money.amount, money.currency)
    sign = "-" if amount < 0 else ""
    digits = _grouped(abs(amount), places)
    symbol = SYMBOLS.get(money.currency)
    if symbol is None:
        return f"{sign}{digits} {money.currency}"
    return f"{sign}{symbol}{digits}"


def format_unit_price(price: Decimal, currency: str) -> str:
    """A unit price in full precision but never fewer decimals than the currency has: ``$0.0004``, ``$8.00``."""
    exponent = price.normalize().as_tuple().exponent
    places = max(minor_units(currency), -exponent if isinstance(exponent, int) else 0)
    text = _grouped(abs(price), places)
    sign = "-" if price < 0 else ""
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"


def format_quantity(quantity: Decimal) -> str:
    """``12,345``, ``0.688889`` (at most six decimals, half-up), ``1.5``."""
    shown = quantity.quantize(Decimal(1).scaleb(-QUANTITY_PLACES), rounding=ROUND_HALF_UP).normalize()
    exponent = shown.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return _grouped(shown, places)


def format_date(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def format_span(start: datetime, end: datetime) -> str:
    """A half-open span printed with inclusive days: [1 Jun, 1 Jul) is ``1 Jun 2026 – 30 Jun 2026``."""
    last = max(start, end - timedelta(microseconds=1))
    return f"{format_date(start.date())} – {format_date(last.date())}"
