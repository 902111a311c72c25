"""Receivables (pure): what a payment or a credit note does to what an invoice still owes, what goes beyond it to
the customer's credit balance, and a customer's statement of open items aged in buckets.

- An invoice owes its amount due (total − prepaid credit) less the credit notes and payments applied to it.
- Only an open invoice (FINALIZED, PARTIALLY_PAID) takes anything: up to what it still owes. What is beyond
  becomes the customer's credit that its next invoices consume (after tax, like prepaid credit: it is money); on
  a PAID invoice all of it does. For a credit note, prepaid credit burned on the invoice is what goes back first
  (to its grants); the rest becomes new credit. A DRAFT or VOID invoice takes nothing and carries nothing: the payment is recorded.
- An invoice that payments (with or without credit notes) leave owing nothing is PAID (paid at that moment);
  one paid in part that still owes is PARTIALLY_PAID; credit notes alone leave it FINALIZED with less due (an
  invoice credited in full owes nothing and was never paid: it can still be voided).
- A statement lists the open invoices, oldest first, each aged by days since its issue date into 0–30, 31–60,
  61–90 and 90+ (as an ageing report by invoice date has it), with totals per currency and bucket.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from tally.invoicing.credit_ledger.domain import Grant, GrantOrigin
from tally.invoicing.domain import OPEN_STATUSES, Invoice, InvoiceStatus
from tally.money import Money, round_line

ZERO = Decimal(0)


class PaymentOutcome(enum.StrEnum):
    """What recording a payment did to its invoice."""

    SETTLED = "SETTLED"
    """Recorded; the invoice is now PAID."""
    PARTIALLY_PAID = "PARTIALLY_PAID"
    """Recorded; the invoice still owes something."""
    RECORDED = "RECORDED"
    """Recorded; the invoice took nothing of it: a draft, a void invoice, or one already paid (the payment
    became customer credit)."""
    DUPLICATE = "DUPLICATE"
    """This message or this payment was recorded before; nothing changed."""
    UNKNOWN_INVOICE = "UNKNOWN_INVOICE"
    """No such invoice here; nothing recorded."""
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    """Paid in another currency than the invoice's; nothing recorded."""


@dataclass(frozen=True, slots=True)
class Applied:
    """An amount applied to an invoice: the invoice after it, what it took, and what went beyond it."""

    invoice: Invoice
    applied: Money
    """Taken off what the invoice owes."""
    carried: Money
    """Beyond what it owed: the customer's credit from now on."""
    settled: bool
    """The invoice became PAID by this amount."""


def _apply(invoice: Invoice, amount: Money, at: datetime, *, payment: bool) -> Applied:
    zero = Money.zero(invoice.currency)
    if amount.amount <= 0 or invoice.status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
        return Applied(invoice, zero, zero, False)
    if invoice.status is InvoiceStatus.PAID:
        return Applied(invoice, zero, amount, False)
    owed = invoice.amount_remaining
    applied = min(amount, owed)
    after = (
        replace(invoice, paid=invoice.paid + applied.amount)
        if payment
        else replace(invoice, credited=invoice.credited + applied.amount)
    )
    settled = after.amount_remaining.is_zero() and after.paid > 0
    if settled:
        after = replace(after, status=InvoiceStatus.PAID, paid_at=at)
    elif after.paid > 0:
        after = replace(after, status=InvoiceStatus.PARTIALLY_PAID)
    return Applied(after, applied, amount - applied, settled)


def apply_payment(invoice: Invoice, amount: Money, at: datetime) -> Applied:
    """``amount`` paid on ``invoice`` at ``at``. Raises CurrencyMismatch if the currencies differ."""
    return _apply(invoice, amount, at, payment=True)


def apply_credit_note(invoice: Invoice, total: Money, at: datetime) -> Applied:
    """A credit note of ``total`` issued on ``invoice`` at ``at``."""
    return _apply(invoice, total, at, payment=False)


def is_open(invoice: Invoice) -> bool:
    return invoice.status in OPEN_STATUSES


def carried_credit(
    *, grant_id: str, customer_id: str, amount: Money, at: datetime, description: str, origin: GrantOrigin
) -> Grant:
    """The customer credit an amount beyond an invoice becomes: a grant of it, usable at once and never expiring,
    applied after tax (cost basis 1: it is money the customer paid or was given back)."""
    return Grant(
        id=grant_id,
        customer_id=customer_id,
        amount=amount,
        cost_basis=Decimal(1),
        priority=0,
        effective_at=at,
        expires_at=None,
        description=description,
        origin=origin,
    )


class AgeBucket(enum.StrEnum):
    """Days since the invoice's issue date."""

    DAYS_0_30 = "0-30"
    DAYS_31_60 = "31-60"
    DAYS_61_90 = "61-90"
    DAYS_OVER_90 = "90+"


def bucket_of(days: int) -> AgeBucket:
    if days <= 30:
        return AgeBucket.DAYS_0_30
    if days <= 60:
        return AgeBucket.DAYS_31_60
    if days <= 90:
        return AgeBucket.DAYS_61_90
    return AgeBucket.DAYS_OVER_90


@dataclass(frozen=True, slots=True)
class OpenItem:
    """An invoice still owing something, as the statement lists it."""

    invoice: Invoice
    age_days: int
    bucket: AgeBucket

    @property
    def remaining(self) -> Money:
        return self.invoice.amount_remaining


@dataclass(frozen=True, slots=True)
class CurrencySummary:
    """A statement's totals in one currency."""

    currency: str
    buckets: tuple[tuple[AgeBucket, Money], ...]
    """Every bucket in order, zero where nothing is open."""
    outstanding: Money
    """Every open item's remaining amount."""
    credit_balance: Money
    """Customer credit not yet applied (prepaid grants, credit carried forward)."""

    @property
    def net(self) -> Money:
        """What the customer owes once its credit is applied (negative: Tally owes the customer)."""
        return self.outstanding - self.credit_balance


@dataclass(frozen=True, slots=True)
class Statement:
    customer_id: str
    as_of: datetime
    items: tuple[OpenItem, ...]
    """Oldest first."""
    summaries: tuple[CurrencySummary, ...]
    """One per currency of an open item or of credit, in code order."""


def statement(
    customer_id: str,
    invoices: Iterable[Invoice],
    credit_balances: Sequence[Money],
    as_of: datetime,
) -> Statement:
    """The customer's statement at ``as_of``: the open invoices issued by then that still owe something."""
    items = []
    for invoice in invoices:
        if not is_open(invoice) or invoice.issued_at is None or invoice.issued_at > as_of:
            continue
        if invoice.amount_remaining.is_zero():
            continue
        days = (as_of.date() - invoice.issued_at.date()).days
        items.append(OpenItem(invoice, days, bucket_of(days)))
    items.sort(key=lambda item: (item.invoice.issued_at, item.invoice.number or item.invoice.id))
    currencies = sorted({item.invoice.currency for item in items} | {m.currency for m in credit_balances})
    summaries = []
    for currency in currencies:
        zero = Money(round_line(ZERO, currency), currency)  # written at the currency's scale: 0.00
        mine = [item for item in items if item.invoice.currency == currency]
        buckets = tuple(
            (
                bucket,
                sum((item.remaining for item in mine if item.bucket is bucket), zero),
            )
            for bucket in AgeBucket
        )
        credit = sum((m for m in credit_balances if m.currency == currency), zero)
        outstanding = sum((item.remaining for item in mine), zero)
        summaries.append(CurrencySummary(currency, buckets, outstanding, credit))
    return Statement(customer_id, as_of, tuple(items), tuple(summaries))
