"""Receivables use cases: payments recorded (from an ERP's PaymentRecorded, or RecordPayment for payments made
outside one), each applied in one transaction with what it carries beyond the invoice and, when it settles the
invoice, InvoicePaid in the outbox; and a customer's statement."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from opentelemetry import trace

from tally.domain.errors import FailedPrecondition, InvalidArgument, NotFound
from tally.invoicing.credit_ledger.domain import GrantOrigin, usable
from tally.invoicing.credit_ledger.handlers import GrantSource, copy_grants, record_grants
from tally.invoicing.domain import Invoice, InvoiceStatus, OutboxMessage, Payment
from tally.invoicing.ports import InvoiceTransaction, Transactions, read
from tally.invoicing.receivables.domain import (
    Applied,
    PaymentOutcome,
    Statement,
    apply_payment,
    carried_credit,
    statement,
)
from tally.mesh import attributes
from tally.money import Money

_log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Recorded:
    """What recording one payment did."""

    outcome: PaymentOutcome
    invoice: Invoice | None
    """The invoice after the payment; None when it is unknown."""
    applied: Money | None = None
    carried: Money | None = None


class Receivables:
    """Applies payments to invoices and reads customers' statements."""

    def __init__(
        self,
        transactions: Transactions[InvoiceTransaction],
        wake_relay: Callable[[], None],
        *,
        paid: Callable[[Invoice], OutboxMessage],
        consumer: str,
        grants: GrantSource | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._transactions = transactions
        self._wake_relay = wake_relay
        self._paid = paid
        self._consumer = consumer
        self._grants = grants
        self._clock = clock

    def now(self) -> datetime:
        return self._clock()

    async def record(self, msg_id: str, payment: Payment) -> PaymentOutcome:
        """A PaymentRecorded message: applied once, whatever the redeliveries and re-publishes. The message is
        handled (committed) even when it names an unknown invoice or another currency."""
        recorded = await asyncio.to_thread(self._record, payment, self._clock(), msg_id)
        self._announce(payment, recorded.outcome)
        return recorded.outcome

    async def record_payment(self, payment: Payment) -> Recorded:
        """RecordPayment: a payment made outside an ERP, against an issued invoice (NotFound, FailedPrecondition
        on a draft or a void invoice, InvalidArgument on another currency, each naming the field)."""
        if payment.amount.amount <= 0:
            raise InvalidArgument.field(
                "amount.amount", f"must be greater than 0, got {payment.amount.amount}"
            )
        recorded = await asyncio.to_thread(self._record, payment, self._clock(), None)
        if recorded.outcome is PaymentOutcome.UNKNOWN_INVOICE:
            raise NotFound("invoice", payment.invoice_id, field="invoice_id")
        if recorded.outcome is PaymentOutcome.CURRENCY_MISMATCH:
            assert recorded.invoice is not None
            raise InvalidArgument.field(
                "amount.currency", f"must be the invoice's currency {recorded.invoice.currency}"
            )
        self._announce(payment, recorded.outcome)
        return recorded

    def _announce(self, payment: Payment, outcome: PaymentOutcome) -> None:
        span = trace.get_current_span()
        span.set_attribute(attributes.INVOICE, payment.invoice_id)
        span.set_attribute(attributes.INBOX_DUPLICATE, outcome is PaymentOutcome.DUPLICATE)
        if outcome is PaymentOutcome.SETTLED:
            self._wake_relay()
        if outcome is PaymentOutcome.UNKNOWN_INVOICE:
            _log.warning(
                "payment %s names unknown invoice %s; nothing recorded",
                payment.payment_id,
                payment.invoice_id,
            )
        elif outcome is PaymentOutcome.CURRENCY_MISMATCH:
            _log.warning(
                "payment %s is in %s, not in invoice %s's currency; nothing recorded",
                payment.payment_id,
                payment.amount.currency,
                payment.invoice_id,
            )
        else:
            _log.info("payment %s on invoice %s: %s", payment.payment_id, payment.invoice_id, outcome.value)

    def _record(self, payment: Payment, now: datetime, msg_id: str | None) -> Recorded:
        """In one transaction: the message claimed (when there is one), the payment stored once per
        ``payment_id``, what it takes off the invoice, what it carries beyond as customer credit, and InvoicePaid
        when it settles the invoice. A payment refused by RecordPayment (a draft, a void invoice) rolls back."""
        with self._transactions.begin() as tx:
            if msg_id is not None and not tx.inbox.claim(self._consumer, msg_id):
                tx.commit()
                return Recorded(PaymentOutcome.DUPLICATE, None)
            invoice = tx.invoices.get(payment.invoice_id, for_update=True, lines=False)
            if invoice is None:
                tx.commit()
                return Recorded(PaymentOutcome.UNKNOWN_INVOICE, None)
            if invoice.currency != payment.amount.currency:
                tx.commit()
                return Recorded(PaymentOutcome.CURRENCY_MISMATCH, invoice)
            if msg_id is None and invoice.status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
                raise FailedPrecondition(
                    f"invoice {invoice.id!r} is {invoice.status.value}; only an issued invoice can be paid"
                )
            if not tx.payments.add(payment, now=now):
                tx.commit()
                return Recorded(PaymentOutcome.DUPLICATE, invoice)
            applied = apply_payment(invoice, payment.amount, payment.received_at)
            self._apply(tx, payment, applied, now)
            tx.commit()
            return Recorded(_outcome(applied), applied.invoice, applied.applied, applied.carried)

    def _apply(self, tx: InvoiceTransaction, payment: Payment, applied: Applied, now: datetime) -> None:
        if not applied.applied.is_zero():
            tx.invoices.settle(applied.invoice, now=now)
        if not applied.carried.is_zero():
            invoice = applied.invoice
            credit = carried_credit(
                grant_id=f"credit-payment-{payment.payment_id}",
                customer_id=invoice.customer_id,
                amount=applied.carried,
                at=now,
                description=f"Payment {payment.erp_reference or payment.payment_id} beyond invoice "
                f"{invoice.number or invoice.id}",
                origin=GrantOrigin.PAYMENT,
            )
            record_grants(tx.ledger, [credit], now=now)
        if applied.settled:
            tx.outbox.add(self._paid(applied.invoice))

    async def statement(self, customer_id: str, as_of: datetime | None) -> Statement:
        """The customer's open invoices aged at ``as_of`` (default now), with its credit balance."""
        if not customer_id:
            raise InvalidArgument.field("customer_id", "is required")
        at = as_of or self._clock()
        if self._grants is not None:
            found = await self._grants.grants(customer_id)
            await asyncio.to_thread(copy_grants, self._transactions, found, now=self._clock())

        def query(tx: InvoiceTransaction) -> Statement:
            credit = []
            for currency in tx.ledger.currencies(customer_id):
                left = usable(tx.ledger.grants_with_balance(customer_id, currency), at)
                credit.append(
                    Money(sum((amount for _, amount in left), Money.zero(currency).amount), currency)
                )
            return statement(customer_id, tx.invoices.open_of_customer(customer_id), credit, at)

        return await read(self._transactions, query)


def _outcome(applied: Applied) -> PaymentOutcome:
    if applied.settled:
        return PaymentOutcome.SETTLED
    if not applied.applied.is_zero():
        return PaymentOutcome.PARTIALLY_PAID
    return PaymentOutcome.RECORDED
