"""Storing a billing run's drafts: each under its billing key, replacing an earlier DRAFT of the key and leaving an
invoice that was issued alone; a draft to finalize is numbered, its credit burned from the ledger, the late usage
it corrects marked applied and InvoiceFinalized put in the outbox, all in its transaction.

Drafts of customers holding credit grants are stored one transaction each: the credit they burn is read inside
it, so two invoices can never spend the same credit. The others are stored as one block: drafted first, then
numbered with one run of consecutive numbers per series (each legal entity numbers in its own), and written with
one statement per table.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from tally.invoicing.billing.drafting import Draft, invoice_from_draft
from tally.invoicing.billing.ports import BillingTransaction
from tally.invoicing.credit_ledger.handlers import record_burns, usable_grants
from tally.invoicing.domain import (
    CustomerSnapshot,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Issuer,
    OutboxMessage,
    References,
)
from tally.invoicing.handlers import due_at, take_number
from tally.invoicing.numbering import format_number, invoice_prefix, series_for
from tally.invoicing.ports import InvoiceCounters, Transactions
from tally.pricing import CreditGrant


@dataclass(frozen=True, slots=True)
class Pending:
    """A drafted invoice waiting to be stored: what the draft is of and who it bills."""

    key: str
    subscription_id: str
    kind: InvoiceKind
    customer: CustomerSnapshot
    customer_id: str
    currency: str
    late_usage_ids: tuple[str, ...] = ()
    """Late-usage messages this invoice's adjustments account for (marked applied when it is finalized)."""
    usage_read_at: datetime | None = None
    """When the draft's usage was read from metering."""
    usage_watermark: int = 0
    """Metering's usage watermark taken before that read; 0 when none was taken."""
    issuer: Issuer | None = None
    """The legal entity issuing it (its series numbers it); None for the install's default."""
    references: References = field(default_factory=References)

    @property
    def series_prefix(self) -> str:
        return invoice_prefix("" if self.issuer is None else self.issuer.number_prefix)


@dataclass(frozen=True, slots=True)
class Save:
    """One draft to store: what it is of, how to make it from the usable grants, and whether it is final."""

    pending: Pending
    make: Callable[[Sequence[CreditGrant]], Draft]
    credits_at: datetime
    finalize: bool


Saved = tuple[Invoice, bool]
"""The invoice, and whether storing it changed anything (False: its key was issued before)."""


class InvoiceWriter:
    """Stores drafts for billing runs; every method runs in a worker thread (the transactions block)."""

    def __init__(
        self,
        transactions: Transactions[BillingTransaction],
        *,
        finalized: Callable[[Invoice], OutboxMessage],
        payment_terms: timedelta,
        counters: InvoiceCounters,
    ) -> None:
        self._transactions = transactions
        self._finalized = finalized
        self._payment_terms = payment_terms
        self._counters = counters

    def save_many(self, saves: Sequence[Save], *, now: datetime) -> list[Saved | Exception]:
        """Stores every draft, answers in order; a draft that cannot be made or stored fails alone."""
        answers: list[Saved | Exception | None] = [None] * len(saves)
        with self._transactions.begin() as tx:
            with_grants = tx.ledger.customers_with_grants({save.pending.customer_id for save in saves})
        block = []
        for index, save in enumerate(saves):
            if save.pending.customer_id in with_grants:
                try:
                    answers[index] = self.save(save, now=now)
                except Exception as exc:
                    answers[index] = exc
            else:
                block.append(index)
        if block:
            stored = self._save_block([saves[i] for i in block], now)
            for index, answer in zip(block, stored, strict=True):
                answers[index] = answer
        saved = [answer if answer is not None else RuntimeError("not saved") for answer in answers]
        changed = [answer[0] for answer in saved if isinstance(answer, tuple) and answer[1]]
        self._counters.drafted(len(changed))
        self._counters.finalized(sum(1 for invoice in changed if invoice.status is InvoiceStatus.FINALIZED))
        return saved

    def save(self, save: Save, *, now: datetime) -> Saved:
        """Stores one draft, made from the customer's grants as they are inside its transaction."""
        pending = save.pending
        with self._transactions.begin() as tx:
            number = take_number(tx.numbers, pending.series_prefix, now) if save.finalize else None
            stored = tx.billed.drafted([pending.key]).get(pending.key)
            if stored is not None and stored.status is not InvoiceStatus.DRAFT:
                issued = tx.invoices.get(stored.id)
                assert issued is not None
                return issued, False  # not committed: the number taken above is rolled back
            draft = save.make(
                usable_grants(tx.ledger, pending.customer_id, pending.currency, save.credits_at)
            )
            invoice = self._invoice(pending, draft, stored, number, now)
            if stored is None:
                tx.invoices.add([(pending.key, invoice)], now=now)
            else:
                tx.invoices.replace([(pending.key, invoice)], now=now)
            if number is not None:
                record_burns(tx.ledger, invoice, draft.credit_entries, at=now)
                mark_late_usage_applied(tx, pending, invoice.id)
                tx.outbox.add(self._finalized(invoice))
            tx.commit()
            return invoice, True

    def _save_block(self, saves: Sequence[Save], now: datetime) -> list[Saved | Exception]:
        answers: list[Saved | Exception | None] = [None] * len(saves)
        every_series = sorted({series_for(save.pending.series_prefix, now) for save in saves})
        with self._transactions.begin() as tx:
            # First statements: the series' locks (in one order, so blocks never deadlock), before any read.
            for series in every_series:
                tx.numbers.take(series, 0)
            stored = tx.billed.drafted([save.pending.key for save in saves])
            made: list[tuple[int, Save, Draft]] = []
            for index, save in enumerate(saves):
                earlier = stored.get(save.pending.key)
                if earlier is not None and earlier.status is not InvoiceStatus.DRAFT:
                    issued = tx.invoices.get(earlier.id)
                    answers[index] = (issued, False) if issued is not None else RuntimeError("vanished")
                    continue
                try:
                    made.append((index, save, save.make(())))
                except Exception as exc:
                    answers[index] = exc
            next_values: dict[str, int] = {}
            for series in every_series:
                wanted = sum(
                    1
                    for _, save, _ in made
                    if save.finalize and series_for(save.pending.series_prefix, now) == series
                )
                next_values[series] = tx.numbers.take(series, wanted) if wanted else 0
            added: list[tuple[str, Invoice]] = []
            announced = []
            for index, save, draft in made:
                pending = save.pending
                number = None
                if save.finalize:
                    series = series_for(pending.series_prefix, now)
                    number = format_number(series, next_values[series])
                    next_values[series] += 1
                earlier = stored.get(pending.key)
                invoice = self._invoice(pending, draft, earlier, number, now)
                if earlier is None:
                    added.append((pending.key, invoice))
                else:
                    tx.invoices.replace([(pending.key, invoice)], now=now)
                if number is not None:
                    announced.append(self._finalized(invoice))
                    mark_late_usage_applied(tx, pending, invoice.id)
                answers[index] = (invoice, True)
            tx.invoices.add(added, now=now)
            tx.outbox.add_many(announced)
            tx.commit()
        return [answer if answer is not None else RuntimeError("not saved") for answer in answers]

    def _invoice(
        self, pending: Pending, draft: Draft, earlier: Invoice | None, number: str | None, now: datetime
    ) -> Invoice:
        """The invoice a draft becomes, finalized when it has a number; it keeps the id and creation time of the
        DRAFT it replaces."""
        invoice_id, created_at = (
            (earlier.id, earlier.created_at) if earlier is not None else (f"inv_{uuid.uuid4().hex}", now)
        )
        invoice = invoice_from_draft(
            draft,
            invoice_id=invoice_id,
            subscription_id=pending.subscription_id,
            customer=pending.customer,
            status=InvoiceStatus.DRAFT if number is None else InvoiceStatus.FINALIZED,
            created_at=created_at,
            number=number,
            kind=pending.kind,
            issued_at=None if number is None else now,
        )
        invoice = replace(
            invoice,
            usage_read_at=pending.usage_read_at,
            usage_watermark=pending.usage_watermark,
            issuer=pending.issuer,
            references=pending.references,
        )
        return replace(invoice, due_at=None if number is None else due_at(invoice, now, self._payment_terms))


def mark_late_usage_applied(tx: BillingTransaction, pending: Pending, invoice_id: str) -> None:
    """Records that ``pending``'s subscription accounted for its late usage; a late-usage message is done once
    every subscription of the customer with an issued invoice of usage overlapping its period has."""
    if not pending.late_usage_ids:
        return
    tx.late_usage.record_applied(pending.late_usage_ids, pending.subscription_id, invoice_id)
    for late_id, period in tx.late_usage.periods(pending.late_usage_ids):
        concerned = tx.billed.subscriptions_billed_overlapping(pending.customer_id, period)
        if concerned <= tx.late_usage.accounted(late_id):
            tx.late_usage.mark_done(late_id, invoice_id)
