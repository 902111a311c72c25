"""Invoices and the payments recorded against them: states, amounts, who issues and who is billed (pure)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from tally.money import Money
from tally.pricing import BreakdownLine
from tally.pricing.period import InvoiceLineKind as LineKind

__all__ = ["LineKind"]

ZERO = Decimal(0)


class InvoiceStatus(enum.StrEnum):
    """An invoice's lifecycle: DRAFT → FINALIZED → PARTIALLY_PAID → PAID, or FINALIZED → VOID."""

    DRAFT = "DRAFT"
    FINALIZED = "FINALIZED"
    PARTIALLY_PAID = "PARTIALLY_PAID"
    PAID = "PAID"
    VOID = "VOID"


BILLED_STATUSES = (InvoiceStatus.FINALIZED, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.PAID)
"""An invoice in one of these was issued to the customer and stands: it can be credited, corrected and netted."""

OPEN_STATUSES = (InvoiceStatus.FINALIZED, InvoiceStatus.PARTIALLY_PAID)
"""An invoice in one of these is a receivable: something may still be due on it."""


class InvoiceKind(enum.StrEnum):
    """REGULAR closes a billing period; THRESHOLD bills an open period early and is netted at its end."""

    REGULAR = "REGULAR"
    THRESHOLD = "THRESHOLD"


@dataclass(frozen=True)
class PostalAddress:
    """A postal address in its parts; documents print it in its country's format."""

    line1: str = ""
    line2: str = ""
    city: str = ""
    region: str = ""
    """State, province, prefecture."""
    postal_code: str = ""
    country: str = ""
    """ISO 3166-1 alpha-2, e.g. "US"."""

    def is_empty(self) -> bool:
        return not any((self.line1, self.line2, self.city, self.region, self.postal_code, self.country))


class TaxTreatment(enum.StrEnum):
    """How the customer is taxed, as the invoice must say it."""

    STANDARD = "STANDARD"
    EXEMPT = "EXEMPT"
    """No tax: the customer is exempt (the reason is printed)."""
    REVERSE_CHARGE = "REVERSE_CHARGE"
    """No tax charged: the customer accounts for it (EU B2B across borders, the note is printed)."""


@dataclass(frozen=True)
class TaxProfile:
    """How the customer's tax is named on documents: its type, where it is levied, and any exemption."""

    name: str = "Tax"
    """"VAT", "Sales tax", "GST", "Consumption tax"."""
    jurisdiction: str = ""
    """Where it is levied, e.g. "United Kingdom", "New York, US"."""
    treatment: TaxTreatment = TaxTreatment.STANDARD
    note: str = ""
    """Printed under the totals: an exemption's reason or certificate, a reverse-charge mention."""


@dataclass(frozen=True)
class CustomerSnapshot:
    """The customer as billed, copied onto the invoice when drafted (later edits do not rewrite invoices)."""

    name: str
    email: str = ""
    address: PostalAddress = field(default_factory=PostalAddress)
    tax_id: str = ""
    external_id: str = ""
    """The id usage events name the customer by."""
    billing_emails: tuple[str, ...] = ()
    """Where invoices and credit notes are delivered; ``email`` when empty."""
    locale: str = ""
    """The language and region its documents are printed in (e.g. "en_US", "ja_JP"); the issuer's when empty."""
    tax: TaxProfile = field(default_factory=TaxProfile)

    @property
    def recipients(self) -> tuple[str, ...]:
        return self.billing_emails or ((self.email,) if self.email else ())


@dataclass(frozen=True)
class Issuer:
    """The legal entity issuing the invoice, as printed (catalog's legal entity when drafted)."""

    id: str
    legal_name: str
    address: PostalAddress = field(default_factory=PostalAddress)
    tax_id: str = ""
    registration_id: str = ""
    """Company registration number (e.g. Companies House, EIN)."""
    email: str = ""
    remittance: tuple[str, ...] = ()
    """How to pay: bank, account, IBAN, SWIFT..., one printed line each."""
    number_prefix: str = ""
    """Prefix of its own number series (``UK`` → ``UK-INV-2026-000001``); empty: the install's ``INV``."""
    locale: str = "en"
    """The language and region its documents are printed in by default."""
    payment_terms_days: int | None = None
    """Days from issue to due date of its invoices; None: the install's default."""


@dataclass(frozen=True)
class References:
    """What an invoice refers the customer to: the quote it was agreed on, their purchase order, the contract."""

    quote: str = ""
    purchase_order: str = ""
    contract: str = ""

    def is_empty(self) -> bool:
        return not (self.quote or self.purchase_order or self.contract)


@dataclass(frozen=True)
class Period:
    """A half-open span [start, end)."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class InvoiceLine:
    """One line: amounts already rounded once (R1), tax on the rounded amount (R2)."""

    id: str
    position: int
    kind: LineKind
    description: str
    amount: Money
    tax: Money
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    tax_rate_percent: Decimal | None = None
    service_period: Period | None = None
    charge_id: str = ""
    meter_id: str = ""
    breakdown: tuple[BreakdownLine, ...] = ()
    """How a tiered amount is made up (empty when one unit price explains the line)."""
    event_ids: tuple[str, ...] = ()
    """Usage events an ADJUSTMENT line corrects, for the audit trail."""
    group: tuple[tuple[str, str], ...] = ()
    """Group-by values of the usage on this line, as sorted (key, value) pairs."""
    corrects_invoice_id: str = ""
    """Finalized invoice an ADJUSTMENT line corrects."""


@dataclass(frozen=True)
class Invoice:
    """A stored invoice with its lines, in line order."""

    id: str
    number: str | None
    customer_id: str
    subscription_id: str
    status: InvoiceStatus
    currency: str
    period: Period
    subtotal: Money
    tax: Money
    credits_applied: Money
    total: Money
    amount_due: Money
    created_at: datetime
    issued_at: datetime | None = None
    due_at: datetime | None = None
    paid_at: datetime | None = None
    voided_at: datetime | None = None
    lines: tuple[InvoiceLine, ...] = ()
    kind: InvoiceKind = InvoiceKind.REGULAR
    customer: CustomerSnapshot | None = None
    """Who is billed, as printed; None on invoices drafted before snapshots were kept."""
    usage_read_at: datetime | None = None
    """When the usage on the invoice was read from metering (later usage of the period is late)."""
    usage_watermark: int = 0
    """Metering's usage watermark taken before that read (0: none): the close reports the period's events
    stored at or past it as late, and no others."""
    credits_before_tax: Decimal = ZERO
    """Promotional credit applied before tax (positive), in the invoice's currency."""
    credited: Decimal = ZERO
    """What credit notes took off the amount due (the rest of a note became customer credit)."""
    paid: Decimal = ZERO
    """What payments took off the amount due (an overpayment became customer credit)."""
    issuer: Issuer | None = None
    """The legal entity issuing it; None: the install's default issuer."""
    references: References = field(default_factory=References)

    @property
    def amount_remaining(self) -> Money:
        """What is still owed: amount due − credit notes applied − payments applied."""
        return Money(max(self.amount_due.amount - self.credited - self.paid, ZERO), self.currency)

    @property
    def promotional_credit(self) -> Money:
        return Money(self.credits_before_tax, self.currency)


@dataclass(frozen=True)
class InvoiceFilter:
    """Which invoices a listing shows; None matches any."""

    customer_id: str | None = None
    status: InvoiceStatus | None = None
    overlapping: Period | None = None
    """Only invoices whose period overlaps this one."""


@dataclass(frozen=True)
class InvoiceKey:
    """Where a page of invoices (newest first) ended."""

    created_at: datetime
    id: str


@dataclass(frozen=True)
class OutboxMessage:
    """An event to publish if, and only if, the transaction writing it commits."""

    subject: str
    msg_id: str
    """Derived from the state change (``invoice-finalized:<id>``), so a retried publish is the same message."""
    payload: bytes
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Payment:
    """A payment recorded in an ERP against one invoice; ``payment_id`` is stable across redeliveries."""

    payment_id: str
    invoice_id: str
    erp: str
    amount: Money
    received_at: datetime
    erp_reference: str = ""
