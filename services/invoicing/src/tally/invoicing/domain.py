"""Invoices and the payments recorded against them: states, amounts and when a payment settles one (pure)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tally.money import Money
from tally.pricing import BreakdownLine


class InvoiceStatus(enum.StrEnum):
    """An invoice's lifecycle: DRAFT → FINALIZED → PAID, or FINALIZED → VOID."""

    DRAFT = "DRAFT"
    FINALIZED = "FINALIZED"
    PAID = "PAID"
    VOID = "VOID"


BILLED_STATUSES = (InvoiceStatus.FINALIZED, InvoiceStatus.PAID)
"""An invoice in one of these was issued to the customer and stands: it can be credited, corrected and netted."""


class LineKind(enum.StrEnum):
    """What an invoice line charges for."""

    RECURRING = "RECURRING"
    USAGE = "USAGE"
    MINIMUM_TRUE_UP = "MINIMUM_TRUE_UP"
    DISCOUNT = "DISCOUNT"
    CREDIT = "CREDIT"
    ADJUSTMENT = "ADJUSTMENT"


class InvoiceKind(enum.StrEnum):
    """REGULAR closes a billing period; THRESHOLD bills an open period early and is netted at its end."""

    REGULAR = "REGULAR"
    THRESHOLD = "THRESHOLD"


@dataclass(frozen=True)
class CustomerSnapshot:
    """The customer as billed, copied onto the invoice when drafted (later edits do not rewrite invoices)."""

    name: str
    email: str = ""
    address: tuple[str, ...] = ()
    tax_id: str = ""
    external_id: str = ""
    """The id usage events name the customer by."""


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


class PaymentOutcome(enum.StrEnum):
    """What recording a payment did to its invoice."""

    SETTLED = "SETTLED"
    """Recorded; the invoice is now PAID."""
    RECORDED = "RECORDED"
    """Recorded; the invoice is not (or not newly) PAID: partly paid, already paid, draft or void."""
    DUPLICATE = "DUPLICATE"
    """This message or this payment was recorded before; nothing changed."""
    UNKNOWN_INVOICE = "UNKNOWN_INVOICE"
    """No such invoice here; nothing recorded."""
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    """Paid in another currency than the invoice's; nothing recorded."""


def settles(status: InvoiceStatus, amount_due: Money, paid: Money) -> bool:
    """Whether payments totalling ``paid`` turn an invoice in ``status`` owing ``amount_due`` PAID.

    Only a FINALIZED invoice becomes PAID (a draft can change, a void one is owed nothing), and only once
    the payments cover what is due. Raises CurrencyMismatch if the currencies differ.
    """
    return status is InvoiceStatus.FINALIZED and paid >= amount_due
