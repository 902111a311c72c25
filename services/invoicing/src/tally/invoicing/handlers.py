"""Invoice use cases: read and list invoices, finalize a draft, record the payments the ERPs report; and the
numbered transaction that finalizing and crediting an invoice both open."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Protocol, TypeVar

from opentelemetry import trace

from tally.domain.errors import FailedPrecondition, InvalidArgument, NotFound
from tally.invoicing.credit_ledger.handlers import record_burns
from tally.invoicing.credit_ledger.ports import CreditLedgerRepository
from tally.invoicing.domain import (
    Invoice,
    InvoiceFilter,
    InvoiceKey,
    InvoiceStatus,
    LineKind,
    OutboxMessage,
    Payment,
    PaymentOutcome,
    settles,
)
from tally.invoicing.numbering import INVOICE_PREFIX, format_number, series_for
from tally.invoicing.ports import InvoiceRepository, InvoiceTransaction, NumberSeries, Transactions, read
from tally.mesh import attributes
from tally.money import Money
from tally.pricing import LedgerEntry

_log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


class NumberedTransaction(Protocol):
    @property
    def numbers(self) -> NumberSeries: ...

    @property
    def invoices(self) -> InvoiceRepository: ...


Tx = TypeVar("Tx", bound=NumberedTransaction)


def take_number(numbers: NumberSeries, prefix: str, at: datetime) -> str:
    """The next number of ``prefix``'s series for a document issued ``at``; take it as the transaction's first
    statement (see ``tally.invoicing.numbering``)."""
    series = series_for(prefix, at)
    return format_number(series, numbers.take(series))


@contextmanager
def numbered(
    transactions: Transactions[Tx], prefix: str, invoice_id: str, *, at: datetime
) -> Iterator[tuple[Tx, str, Invoice]]:
    """A transaction that first takes the next number of ``prefix``'s series for a document issued ``at`` (see
    ``tally.invoicing.numbering``), then locks and loads the invoice it is about (NotFound names ``invoice_id``).

    Concurrent issuers queue behind the number, so each sees what the ones before it committed; a transaction
    left without a commit rolls its number back, so numbers stay gapless.
    """
    with transactions.begin() as tx:
        number = take_number(tx.numbers, prefix, at)
        invoice = tx.invoices.get(invoice_id, for_update=True)
        if invoice is None:
            raise NotFound("invoice", invoice_id, field="invoice_id")
        yield tx, number, invoice


def _credit_burns(ledger: CreditLedgerRepository, draft: Invoice) -> list[LedgerEntry]:
    """The burns a stored draft's CREDIT lines promise, refusing if the credit was spent since it was drafted."""
    burns = []
    for line in draft.lines:
        if line.kind is not LineKind.CREDIT or not line.charge_id:
            continue
        taken = -line.amount.amount
        left = ledger.balance(line.charge_id)
        if left < taken:
            raise FailedPrecondition(
                f"credit grant {line.charge_id!r} has {left} left, less than the {taken} this draft applies; "
                "run billing again to re-draft the invoice"
            )
        burns.append(LedgerEntry(line.charge_id, taken, left - taken))
    return burns


class Invoices:
    """Reads invoices and finalizes drafts."""

    def __init__(
        self,
        transactions: Transactions[InvoiceTransaction],
        wake_relay: Callable[[], None],
        *,
        finalized: Callable[[Invoice], OutboxMessage],
        payment_terms: timedelta = timedelta(days=30),
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._transactions = transactions
        self._wake_relay = wake_relay
        self._finalized = finalized
        self._payment_terms = payment_terms
        self._clock = clock

    async def get(self, invoice_id: str) -> Invoice:
        if not invoice_id:
            raise InvalidArgument.field("invoice_id", "is required")
        invoice = await read(self._transactions, lambda tx: tx.invoices.get(invoice_id))
        if invoice is None:
            raise NotFound("invoice", invoice_id, field="invoice_id")
        return invoice

    async def list(self, where: InvoiceFilter, *, after: InvoiceKey | None, limit: int) -> list[Invoice]:
        return await read(self._transactions, lambda tx: tx.invoices.find(where, after=after, limit=limit))

    async def finalize(self, invoice_id: str) -> Invoice:
        """Numbers a DRAFT and freezes it as FINALIZED; InvoiceFinalized is published after the commit."""
        if not invoice_id:
            raise InvalidArgument.field("invoice_id", "is required")
        trace.get_current_span().set_attribute(attributes.INVOICE, invoice_id)
        finalized = await asyncio.to_thread(self._finalize, invoice_id, self._clock())
        self._wake_relay()
        _log.info("invoice %s finalized as %s", finalized.id, finalized.number)
        return finalized

    def _finalize(self, invoice_id: str, now: datetime) -> Invoice:
        """In one transaction: the number, the credit the draft applies burned, FINALIZED (issued now, due after
        the payment terms) and InvoiceFinalized in the outbox. An invoice finalized before is returned as it is
        (a retry), and its number attempt rolled back."""
        with numbered(self._transactions, INVOICE_PREFIX, invoice_id, at=now) as (tx, number, draft):
            if draft.status is InvoiceStatus.FINALIZED:
                return draft
            if draft.status is not InvoiceStatus.DRAFT:
                raise FailedPrecondition(
                    f"invoice {invoice_id!r} is {draft.status.value}; only a DRAFT invoice can be finalized"
                )
            finalized = replace(
                draft,
                number=number,
                status=InvoiceStatus.FINALIZED,
                issued_at=now,
                due_at=now + self._payment_terms,
            )
            record_burns(tx.ledger, finalized, _credit_burns(tx.ledger, draft), at=now)
            tx.invoices.finalize(finalized, now=now)
            tx.outbox.add(self._finalized(finalized))
            tx.commit()
            return finalized


class PaymentRecorder:
    """Records PaymentRecorded: the payment is applied once, whatever the redeliveries and re-publishes."""

    def __init__(
        self,
        transactions: Transactions[InvoiceTransaction],
        consumer: str,
        *,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._transactions = transactions
        self._consumer = consumer
        self._clock = clock

    async def record(self, msg_id: str, payment: Payment) -> PaymentOutcome:
        outcome = await asyncio.to_thread(self._record, msg_id, payment, self._clock())
        span = trace.get_current_span()
        span.set_attribute(attributes.INVOICE, payment.invoice_id)
        span.set_attribute(attributes.INBOX_DUPLICATE, outcome is PaymentOutcome.DUPLICATE)
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
        return outcome

    def _record(self, msg_id: str, payment: Payment, now: datetime) -> PaymentOutcome:
        """Claims ``msg_id`` and applies ``payment`` in one transaction, committed whatever the outcome: the
        message is handled, even when it names an unknown invoice or another currency."""
        with self._transactions.begin() as tx:
            outcome = self._apply(tx, msg_id, payment, now)
            tx.commit()
            return outcome

    def _apply(self, tx: InvoiceTransaction, msg_id: str, payment: Payment, now: datetime) -> PaymentOutcome:
        if not tx.inbox.claim(self._consumer, msg_id):
            return PaymentOutcome.DUPLICATE
        invoice = tx.invoices.get(payment.invoice_id, for_update=True, lines=False)
        if invoice is None:
            return PaymentOutcome.UNKNOWN_INVOICE
        if invoice.currency != payment.amount.currency:
            return PaymentOutcome.CURRENCY_MISMATCH
        if not tx.payments.add(payment, now=now):
            return PaymentOutcome.DUPLICATE
        paid = Money(Decimal(0), invoice.currency)
        for amount in tx.payments.amounts(invoice.id):
            paid = paid + Money(amount, invoice.currency)
        if not settles(invoice.status, invoice.amount_due, paid):
            return PaymentOutcome.RECORDED
        tx.invoices.mark_paid(invoice.id, paid_at=payment.received_at, now=now)
        return PaymentOutcome.SETTLED
