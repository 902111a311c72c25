"""Invoice use cases: read and list invoices, finalize a draft; and the numbered transaction that finalizing and
crediting an invoice both open, in the series of the legal entity issuing it."""

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
)
from tally.invoicing.numbering import format_number, invoice_prefix, series_for
from tally.invoicing.ports import (
    InvoiceCounters,
    InvoiceRepository,
    InvoiceTransaction,
    NumberSeries,
    Transactions,
    Uncounted,
    read,
)
from tally.mesh import attributes
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


def entity_prefix(invoice: Invoice) -> str:
    """The number prefix of the legal entity issuing ``invoice`` (empty: the install's series)."""
    return "" if invoice.issuer is None else invoice.issuer.number_prefix


async def issuing_prefix(transactions: Transactions[Tx], invoice_id: str) -> str:
    """The number prefix of the entity issuing an invoice, read before its numbered transaction opens (the number
    must be that transaction's first statement); NotFound names ``invoice_id``."""

    def query(tx: Tx) -> Invoice | None:
        return tx.invoices.get(invoice_id, lines=False)

    found = await read(transactions, query)
    if found is None:
        raise NotFound("invoice", invoice_id, field="invoice_id")
    return entity_prefix(found)


@contextmanager
def numbered(
    transactions: Transactions[Tx],
    prefix: Callable[[str], str],
    entity: str,
    invoice_id: str,
    *,
    at: datetime,
) -> Iterator[tuple[Tx, str, Invoice]]:
    """A transaction that first takes the next number of the series ``prefix(entity)`` names for a document issued
    ``at`` (see ``tally.invoicing.numbering``), then locks and loads the invoice it is about (NotFound names
    ``invoice_id``); ``entity`` is the number prefix of the legal entity issuing the invoice (``issuing_prefix``).

    Concurrent issuers queue behind the number, so each sees what the ones before it committed; a transaction
    left without a commit rolls its number back, so numbers stay gapless. A draft re-drafted for another entity
    meanwhile is refused (FailedPrecondition): the caller retries in the right series.
    """
    with transactions.begin() as tx:
        number = take_number(tx.numbers, prefix(entity), at)
        invoice = tx.invoices.get(invoice_id, for_update=True)
        if invoice is None:
            raise NotFound("invoice", invoice_id, field="invoice_id")
        if entity_prefix(invoice) != entity:
            raise FailedPrecondition(
                f"invoice {invoice_id!r} was re-drafted for another legal entity meanwhile; try again"
            )
        yield tx, number, invoice


def _credit_burns(ledger: CreditLedgerRepository, draft: Invoice) -> list[LedgerEntry]:
    """The burns a stored draft's CREDIT lines promise (a grant applied before tax may have a line per tax rate),
    refusing if the credit was spent since it was drafted."""
    taken: dict[str, Decimal] = {}
    for line in draft.lines:
        if line.kind is LineKind.CREDIT and line.charge_id:
            taken[line.charge_id] = taken.get(line.charge_id, Decimal(0)) - line.amount.amount
    burns = []
    for grant_id, amount in taken.items():
        left = ledger.balance(grant_id)
        if left < amount:
            raise FailedPrecondition(
                f"credit grant {grant_id!r} has {left} left, less than the {amount} this draft applies; "
                "run billing again to re-draft the invoice"
            )
        burns.append(LedgerEntry(grant_id, amount, left - amount))
    return burns


def due_at(invoice: Invoice, issued_at: datetime, default_terms: timedelta) -> datetime:
    """When an invoice issued ``issued_at`` is due: its issuer's payment terms, else the install's."""
    days = None if invoice.issuer is None else invoice.issuer.payment_terms_days
    return issued_at + (default_terms if days is None else timedelta(days=days))


class Invoices:
    """Reads invoices and finalizes drafts."""

    def __init__(
        self,
        transactions: Transactions[InvoiceTransaction],
        wake_relay: Callable[[], None],
        *,
        finalized: Callable[[Invoice], OutboxMessage],
        payment_terms: timedelta = timedelta(days=30),
        counters: InvoiceCounters | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._transactions = transactions
        self._wake_relay = wake_relay
        self._finalized = finalized
        self._payment_terms = payment_terms
        self._counters = counters or Uncounted()
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
        prefix = await issuing_prefix(self._transactions, invoice_id)
        finalized, changed = await asyncio.to_thread(self._finalize, invoice_id, prefix, self._clock())
        self._wake_relay()
        if changed:
            self._counters.finalized(1)
        _log.info("invoice %s finalized as %s", finalized.id, finalized.number)
        return finalized

    def _finalize(self, invoice_id: str, prefix: str, now: datetime) -> tuple[Invoice, bool]:
        """In one transaction: the number, the credit the draft applies burned, FINALIZED (issued now, due after
        the payment terms) and InvoiceFinalized in the outbox. An invoice finalized before is returned as it is
        (a retry), and its number attempt rolled back."""
        with numbered(self._transactions, invoice_prefix, prefix, invoice_id, at=now) as (tx, number, draft):
            if draft.status is InvoiceStatus.FINALIZED:
                return draft, False
            if draft.status is not InvoiceStatus.DRAFT:
                raise FailedPrecondition(
                    f"invoice {invoice_id!r} is {draft.status.value}; only a DRAFT invoice can be finalized"
                )
            finalized = replace(
                draft,
                number=number,
                status=InvoiceStatus.FINALIZED,
                issued_at=now,
                due_at=due_at(draft, now, self._payment_terms),
            )
            record_burns(tx.ledger, finalized, _credit_burns(tx.ledger, draft), at=now)
            tx.invoices.finalize(finalized, now=now)
            tx.outbox.add(self._finalized(finalized))
            tx.commit()
            return finalized, True
