"""What a printed invoice, credit note or statement shows (pure data): every amount with its currency, every text
ready to print; the renderer writes amounts and dates in the document's locale (``tally.money.formatting``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from babel.dates import format_date as babel_format_date

from tally.money import Money
from tally.money.formatting import locale_of


@dataclass(frozen=True, slots=True)
class Party:
    """The issuer or the customer as printed."""

    name: str
    address_lines: tuple[str, ...] = ()
    """Already in the country's format."""
    tax_id: str = ""
    email: str = ""
    registration_id: str = ""


@dataclass(frozen=True, slots=True)
class TierRow:
    """One sub-row explaining a line: a tier, a group, included usage, the minimum commitment's reckoning."""

    description: str
    units: Decimal | None
    unit_price: Decimal | None
    amount: Money
    """Exact, as the breakdown has it (flat fee included); printed at the currency's precision."""


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
class TaxRow:
    """Tax at one rate: its label ("VAT 20% (United Kingdom)"), what it is computed on, and the tax."""

    label: str
    base: Money
    tax: Money


@dataclass(frozen=True, slots=True)
class TotalRow:
    label: str
    amount: Money
    strong: bool = False


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
    totals: tuple[TotalRow, ...]
    """Subtotal, credit before tax, tax per rate on its base, total, prepaid credit, amount due, and on an issued
    invoice paid or credited in part what it still owes."""
    payment_terms: str
    locale: str = "en"
    references: tuple[tuple[str, str], ...] = ()
    """("Quote", "Q-2026-0003"), ("Purchase order", "PO-77"), ("Contract", "MSA-2026")."""
    notes: tuple[str, ...] = ()
    """Printed under the totals: an exemption, a reverse charge."""
    remittance: tuple[str, ...] = ()
    """How to pay, one line each."""
    logo: bytes = b""
    draft: bool = False
    """Printed as a DRAFT INVOICE, without number or due date: not a bill yet."""
    voided_date: date | None = None
    """Set on a voided invoice, which is printed marked VOID."""
    status: str = ""
    """"Partially paid", "Paid": printed among the facts of an issued invoice that is no longer simply open."""


@dataclass(frozen=True, slots=True)
class CreditNoteView:
    """A credit note: what is credited back against one invoice, and where the credit went."""

    number: str
    invoice_number: str
    issuer: Party
    customer: Party
    issue_date: date
    reason: str
    lines: tuple[LineView, ...]
    totals: tuple[TotalRow, ...]
    locale: str = "en"
    logo: bytes = b""


@dataclass(frozen=True, slots=True)
class StatementRow:
    number: str
    issue_date: date | None
    due_date: date | None
    amount_due: Money
    remaining: Money
    age_days: int
    bucket: str


@dataclass(frozen=True, slots=True)
class StatementView:
    """A customer's statement: open invoices oldest first, then per currency the ageing buckets, what is owed,
    the credit held and the net."""

    issuer: Party
    customer: Party
    as_of: date
    rows: tuple[StatementRow, ...]
    summaries: tuple[tuple[str, tuple[TotalRow, ...]], ...]
    """(currency, its rows) per currency."""
    locale: str = "en"
    logo: bytes = b""
    remittance: tuple[str, ...] = ()


@lru_cache(maxsize=4096)
def format_date(day: date, locale: str = "en") -> str:
    """A date as the locale writes it in full: 1 Jun 2026, Jun 1, 2026, 2026/06/01."""
    return babel_format_date(day, format="medium", locale=locale_of(locale))


def format_span(start: datetime, end: datetime, locale: str = "en") -> str:
    """A half-open span printed with inclusive days: [1 Jun, 1 Jul) is ``1 Jun 2026 – 30 Jun 2026``."""
    last = max(start, end - timedelta(microseconds=1))
    return f"{format_date(start.date(), locale)} – {format_date(last.date(), locale)}"
