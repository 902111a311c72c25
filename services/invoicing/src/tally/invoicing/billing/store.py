"""What billing runs read and write: drafts keyed so a run never bills a period twice, finalized in place.

A draft is keyed by ``billing_key`` (subscription | period start | kind): re-running replaces a DRAFT's lines
(re-rated with late usage) and leaves an invoice that was finalized alone. Finalizing takes the gapless number
as the transaction's first statement, exactly as ``InvoiceStore.finalize`` does, then computes the credit burn
from the ledger inside that same transaction, so two invoices can never spend the same credit.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, Engine, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection, RowMapping

from tally.invoicing.billing.drafting import Draft, ThresholdInvoice, invoice_from_draft
from tally.invoicing.credit_ledger import store as ledger
from tally.invoicing.domain import CustomerSnapshot, Invoice, InvoiceKind, InvoiceStatus, LineKind
from tally.invoicing.numbering import INVOICE_PREFIX, format_number, series_for, take_number, take_values
from tally.invoicing.store import OutboxMessage, breakdown_to_json, load_invoice, snapshot_to_json
from tally.invoicing.tables import (
    billing_controls,
    credit_grants,
    invoice_lines,
    invoices,
    late_usage,
    late_usage_applied,
)
from tally.persistence import outbox
from tally.pricing import CreditGrant, Period

BILLED = (InvoiceStatus.FINALIZED.value, InvoiceStatus.PAID.value)


def billing_key(subscription_id: str, period_start: datetime, kind: str) -> str:
    return f"{subscription_id}|{period_start.isoformat()}|{kind}"


OPENING = "OPENING"
"""The billing-key kind of an opening invoice: in-advance fees at the start, no usage billed."""


def _billed_usage() -> ColumnElement[bool]:
    """Invoices whose usage can be corrected: not opening invoices, which bill fees only (re-pricing their
    period's usage against them would bill that usage a second time)."""
    return or_(invoices.c.billing_key.is_(None), ~invoices.c.billing_key.like(f"%|{OPENING}"))


@dataclass(frozen=True, slots=True)
class LateUsage:
    """A UsageLate message waiting for the customer's next invoice."""

    id: str
    customer: str
    meter_ids: tuple[str, ...]
    event_ids: tuple[str, ...]
    period: Period
    applied_by: frozenset[str] = frozenset()
    """Subscriptions whose invoices already account for it (it stays pending for the customer's others)."""


@dataclass(frozen=True, slots=True)
class Controls:
    """A subscription's invoice threshold and alerts."""

    subscription_id: str
    currency: str
    invoice_threshold: Decimal | None
    spend_alerts: tuple[Decimal, ...]
    usage_alerts: tuple[tuple[str, Decimal], ...]
    """(charge id, quantity) pairs."""


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


@dataclass(frozen=True, slots=True)
class Save:
    """One draft for ``save_many``: what it is of, how to make it from the usable grants, and whether final."""

    pending: Pending
    make: Callable[[Sequence[CreditGrant]], Draft]
    credits_at: datetime
    finalize: bool


class _Settled(Exception):
    def __init__(self, invoice: Invoice) -> None:
        super().__init__(invoice.id)
        self.invoice = invoice


class BillingStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # ---- reads -------------------------------------------------------------------------------------------

    def billed_through_all(self) -> dict[str, datetime]:
        """Per subscription, the end of the last period a REGULAR invoice was finalized for (paid and voided
        ones count: their period was billed; a DRAFT does not, it is re-rated until final), in one query."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(invoices.c.subscription_id, func.max(invoices.c.period_end))
                .where(
                    invoices.c.billing_key.like("%|REGULAR"),
                    invoices.c.status != InvoiceStatus.DRAFT.value,
                )
                .group_by(invoices.c.subscription_id)
            ).all()
        return {subscription_id: end for subscription_id, end in rows if end is not None}

    def threshold_invoices(self, subscription_id: str, period: Period) -> list[ThresholdInvoice]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(invoices.c.id, invoices.c.number, invoices.c.subtotal, invoices.c.tax)
                .where(
                    invoices.c.subscription_id == subscription_id,
                    invoices.c.kind == InvoiceKind.THRESHOLD.value,
                    invoices.c.period_start == period.start,
                    invoices.c.status.in_(BILLED),
                )
                .order_by(invoices.c.issued_at)
            ).all()
        return [ThresholdInvoice(row.id, row.number, Decimal(row.subtotal), Decimal(row.tax)) for row in rows]

    def threshold_invoices_all(self) -> dict[tuple[str, datetime], list[ThresholdInvoice]]:
        """Every billed THRESHOLD invoice by (subscription, period start): a run reads them once."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(
                    invoices.c.subscription_id,
                    invoices.c.period_start,
                    invoices.c.id,
                    invoices.c.number,
                    invoices.c.subtotal,
                    invoices.c.tax,
                )
                .where(invoices.c.kind == InvoiceKind.THRESHOLD.value, invoices.c.status.in_(BILLED))
                .order_by(invoices.c.issued_at)
            ).all()
        found: dict[tuple[str, datetime], list[ThresholdInvoice]] = {}
        for row in rows:
            found.setdefault((row.subscription_id, row.period_start), []).append(
                ThresholdInvoice(row.id, row.number, Decimal(row.subtotal), Decimal(row.tax))
            )
        return found

    def count_kind(self, subscription_id: str, period: Period, kind: InvoiceKind) -> int:
        with self._engine.connect() as conn:
            return conn.execute(
                select(func.count())
                .select_from(invoices)
                .where(
                    invoices.c.subscription_id == subscription_id,
                    invoices.c.kind == kind.value,
                    invoices.c.period_start == period.start,
                )
            ).scalar_one()

    def pending_late_usage(self) -> dict[str, list[LateUsage]]:
        """Late usage not yet accounted for by an invoice, per customer (external id), oldest first."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(late_usage)
                .where(late_usage.c.applied_invoice_id.is_(None))
                .order_by(late_usage.c.detected_at, late_usage.c.id)
            ).mappings()
            pending = list(rows)
            applied: dict[str, set[str]] = {}
            for late_id, subscription_id in conn.execute(
                select(late_usage_applied.c.late_usage_id, late_usage_applied.c.subscription_id)
                .join(late_usage, late_usage.c.id == late_usage_applied.c.late_usage_id)
                .where(late_usage.c.applied_invoice_id.is_(None))
            ):
                applied.setdefault(late_id, set()).add(subscription_id)
            found: dict[str, list[LateUsage]] = {}
            for row in pending:
                found.setdefault(row["customer_id"], []).append(
                    LateUsage(
                        row["id"],
                        row["customer_id"],
                        tuple(json.loads(row["meter_ids"])),
                        tuple(json.loads(row["event_ids"])),
                        Period(row["period_start"], row["period_end"]),
                        frozenset(applied.get(row["id"], ())),
                    )
                )
            return found

    def billed_invoices_overlapping(self, subscription_id: str, period: Period) -> list[Invoice]:
        """REGULAR invoices finalized (or paid) for the subscription whose period overlaps ``period`` and that
        billed usage (not opening invoices)."""
        with self._engine.connect() as conn:
            ids = conn.execute(
                select(invoices.c.id)
                .where(
                    invoices.c.subscription_id == subscription_id,
                    invoices.c.kind == InvoiceKind.REGULAR.value,
                    invoices.c.status.in_(BILLED),
                    invoices.c.period_start < period.end,
                    invoices.c.period_end > period.start,
                    _billed_usage(),
                )
                .order_by(invoices.c.period_start)
            ).scalars()
            return [invoice for invoice_id in ids if (invoice := load_invoice(conn, invoice_id)) is not None]

    def corrections_of(self, invoice_id: str) -> Decimal:
        """What ADJUSTMENT lines on other live invoices already added to ``invoice_id``'s usage."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(invoice_lines.c.amount)
                .join(invoices, invoices.c.id == invoice_lines.c.invoice_id)
                .where(
                    invoice_lines.c.corrects_invoice_id == invoice_id,
                    invoice_lines.c.event_ids.is_not(None),
                    invoices.c.status != InvoiceStatus.VOID.value,
                )
            ).scalars()
            return sum((Decimal(amount) for amount in rows), Decimal(0))

    def controls(self) -> dict[str, Controls]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(billing_controls)).mappings()
            return {row["subscription_id"]: controls_from_row(row) for row in rows}

    def usable_grants(self, customer_id: str, currency: str, at: datetime) -> list[CreditGrant]:
        with self._engine.connect() as conn:
            return ledger.usable_grants(conn, customer_id, currency, at)

    def sync_grants(self, grants: Sequence[ledger.Grant], now: datetime) -> int:
        with self._engine.begin() as conn:
            return ledger.sync_grants(conn, grants, now=now)

    # ---- writes ------------------------------------------------------------------------------------------

    def save(
        self,
        pending: Pending,
        make: Callable[[Sequence[CreditGrant]], Draft],
        *,
        credits_at: datetime,
        finalize: bool,
        now: datetime,
        payment_terms: timedelta,
        event: Callable[[Invoice], OutboxMessage],
    ) -> tuple[Invoice, bool]:
        """Stores the draft ``make`` returns (replacing an earlier DRAFT of the same key), finalized if asked.

        ``make`` gets the customer's usable grants read inside the transaction. Returns the invoice and whether
        this call changed anything (False: the key was already finalized, paid or voided).
        """
        try:
            return self._save(pending, make, credits_at, finalize, now, payment_terms, event), True
        except _Settled as settled:
            return settled.invoice, False

    def _save(
        self,
        pending: Pending,
        make: Callable[[Sequence[CreditGrant]], Draft],
        credits_at: datetime,
        finalize: bool,
        now: datetime,
        payment_terms: timedelta,
        event: Callable[[Invoice], OutboxMessage],
    ) -> Invoice:
        with self._engine.begin() as conn:
            number = take_number(conn, INVOICE_PREFIX, now) if finalize else None
            existing = conn.execute(
                select(invoices.c.id, invoices.c.status, invoices.c.created_at).where(
                    invoices.c.billing_key == pending.key
                )
            ).first()
            if existing is not None and existing.status != InvoiceStatus.DRAFT.value:
                found = load_invoice(conn, existing.id)
                assert found is not None
                raise _Settled(found)  # rolls back the number taken above
            draft = make(ledger.usable_grants(conn, pending.customer_id, pending.currency, credits_at))
            replaced = None if existing is None else (existing.id, existing.created_at)
            invoice, values = _staged(pending, draft, replaced, number, now, payment_terms)
            if existing is None:
                conn.execute(insert(invoices).values(**values))
            else:
                conn.execute(delete(invoice_lines).where(invoice_lines.c.invoice_id == invoice.id))
                conn.execute(update(invoices).where(invoices.c.id == invoice.id).values(**values))
            _insert_lines(conn, invoice.id, draft)
            if number is not None:
                ledger.record_burns(
                    conn,
                    customer_id=pending.customer_id,
                    currency=draft.currency,
                    invoice_id=invoice.id,
                    invoice_number=number,
                    entries=draft.credit_entries,
                    at=now,
                )
                _mark_applied(conn, pending, invoice.id)
                message = event(invoice)
                outbox.enqueue(conn, message.subject, message.payload, message.msg_id)
            return invoice

    def save_many(
        self,
        saves: Sequence[Save],
        *,
        now: datetime,
        payment_terms: timedelta,
        event: Callable[[Invoice], OutboxMessage],
    ) -> list[tuple[Invoice, bool] | Exception]:
        """``save`` for many drafts in one transaction (a billing run's group commit), answers in order.

        Drafts of customers holding credit grants are saved one by one (each burn must see the previous one);
        the others are drafted first, then numbered as one block of consecutive numbers, and written with one
        statement per table. A draft that cannot be made fails alone.
        """
        answers: list[tuple[Invoice, bool] | Exception | None] = [None] * len(saves)
        customers = {save.pending.customer_id for save in saves}
        with self._engine.connect() as conn:
            with_grants = set(
                conn.execute(
                    select(credit_grants.c.customer_id)
                    .where(credit_grants.c.customer_id.in_(customers))
                    .distinct()
                ).scalars()
            )
        bulk = []
        for index, save in enumerate(saves):
            if save.pending.customer_id in with_grants:
                try:
                    answers[index] = self.save(
                        save.pending,
                        save.make,
                        credits_at=save.credits_at,
                        finalize=save.finalize,
                        now=now,
                        payment_terms=payment_terms,
                        event=event,
                    )
                except Exception as exc:
                    answers[index] = exc
            else:
                bulk.append(index)
        if bulk:
            for index, answer in zip(
                bulk, self._save_block([saves[i] for i in bulk], now, payment_terms, event), strict=True
            ):
                answers[index] = answer
        return [answer if answer is not None else RuntimeError("not saved") for answer in answers]

    def _save_block(
        self,
        saves: Sequence[Save],
        now: datetime,
        payment_terms: timedelta,
        event: Callable[[Invoice], OutboxMessage],
    ) -> list[tuple[Invoice, bool] | Exception]:
        answers: list[tuple[Invoice, bool] | Exception | None] = [None] * len(saves)
        series = series_for(INVOICE_PREFIX, now)
        with self._engine.begin() as conn:
            # First statement: the write lock (SQLite) / the series row lock (PostgreSQL), before any read.
            take_values(conn, series, 0)
            existing = {
                row.billing_key: row
                for row in conn.execute(
                    select(
                        invoices.c.id, invoices.c.status, invoices.c.created_at, invoices.c.billing_key
                    ).where(invoices.c.billing_key.in_([save.pending.key for save in saves]))
                )
            }
            made: list[tuple[int, Save, Draft]] = []
            for index, save in enumerate(saves):
                row = existing.get(save.pending.key)
                if row is not None and row.status != InvoiceStatus.DRAFT.value:
                    found = load_invoice(conn, row.id)
                    answers[index] = (found, False) if found is not None else RuntimeError("vanished")
                    continue
                try:
                    made.append((index, save, save.make(())))
                except Exception as exc:
                    answers[index] = exc
            finalizing = sum(1 for _, save, _ in made if save.finalize)
            next_value = take_values(conn, series, finalizing) if finalizing else 0
            invoice_rows, line_rows, messages = [], [], []
            for index, save, draft in made:
                pending = save.pending
                row = existing.get(pending.key)
                number = None
                if save.finalize:
                    number = format_number(series, next_value)
                    next_value += 1
                replaced = None if row is None else (row.id, row.created_at)
                invoice, values = _staged(pending, draft, replaced, number, now, payment_terms)
                if row is None:
                    invoice_rows.append(values)
                else:
                    conn.execute(delete(invoice_lines).where(invoice_lines.c.invoice_id == invoice.id))
                    conn.execute(update(invoices).where(invoices.c.id == invoice.id).values(**values))
                line_rows.extend(_line_rows(invoice.id, draft))
                if number is not None:
                    message = event(invoice)
                    messages.append((message.subject, message.payload, message.msg_id))
                    _mark_applied(conn, pending, invoice.id)
                answers[index] = (invoice, True)
            if invoice_rows:
                conn.execute(insert(invoices), invoice_rows)
            if line_rows:
                conn.execute(insert(invoice_lines), line_rows)
            outbox.enqueue_many(conn, messages)
        return [answer if answer is not None else RuntimeError("not saved") for answer in answers]

    def record_late_usage(self, usage: LateUsage, *, cause: str, detected_at: datetime) -> bool:
        """Keeps a UsageLate message once (its id); returns False for a repeat."""
        with self._engine.begin() as conn:
            if conn.execute(select(late_usage.c.id).where(late_usage.c.id == usage.id)).first() is not None:
                return False
            conn.execute(
                insert(late_usage).values(
                    id=usage.id,
                    customer_id=usage.customer,
                    meter_ids=json.dumps(list(usage.meter_ids)),
                    event_ids=json.dumps(list(usage.event_ids)),
                    cause=cause,
                    period_start=usage.period.start,
                    period_end=usage.period.end,
                    detected_at=detected_at,
                )
            )
            return True


def _staged(
    pending: Pending,
    draft: Draft,
    existing: tuple[str, datetime] | None,
    number: str | None,
    now: datetime,
    payment_terms: timedelta,
) -> tuple[Invoice, dict[str, object]]:
    """The invoice a draft becomes (finalized when it has a number) and its ``invoices`` row; ``existing`` is
    the (id, created_at) of the DRAFT it replaces."""
    invoice_id, created_at = existing if existing is not None else (f"inv_{uuid.uuid4().hex}", now)
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
        due_at=None if number is None else now + payment_terms,
    )
    invoice = replace(invoice, usage_read_at=pending.usage_read_at)
    return invoice, _invoice_values(invoice, pending, now)


def _mark_applied(conn: Connection, pending: Pending, invoice_id: str) -> None:
    """Record that ``pending``'s subscription accounted for its late usage; a late-usage row is done once every
    subscription of the customer with a billed invoice overlapping its period has."""
    if not pending.late_usage_ids:
        return
    conn.execute(
        insert(late_usage_applied),
        [
            {"late_usage_id": late_id, "subscription_id": pending.subscription_id, "invoice_id": invoice_id}
            for late_id in pending.late_usage_ids
        ],
    )
    rows = conn.execute(
        select(late_usage.c.id, late_usage.c.period_start, late_usage.c.period_end).where(
            late_usage.c.id.in_(pending.late_usage_ids)
        )
    ).all()
    for late_id, start, end in rows:
        concerned = set(
            conn.execute(
                select(invoices.c.subscription_id)
                .distinct()
                .where(
                    invoices.c.customer_id == pending.customer_id,
                    invoices.c.kind == InvoiceKind.REGULAR.value,
                    invoices.c.status.in_(BILLED),
                    invoices.c.period_start < end,
                    invoices.c.period_end > start,
                    _billed_usage(),
                )
            ).scalars()
        )
        accounted = set(
            conn.execute(
                select(late_usage_applied.c.subscription_id).where(
                    late_usage_applied.c.late_usage_id == late_id
                )
            ).scalars()
        )
        if concerned <= accounted:
            conn.execute(
                update(late_usage).where(late_usage.c.id == late_id).values(applied_invoice_id=invoice_id)
            )


def _insert_lines(conn: Connection, invoice_id: str, draft: Draft) -> None:
    rows = _line_rows(invoice_id, draft)
    if rows:
        conn.execute(insert(invoice_lines), rows)


def _invoice_values(invoice: Invoice, pending: Pending, now: datetime) -> dict[str, object]:
    return {
        "id": invoice.id,
        "billing_key": pending.key,
        "created_at": invoice.created_at,
        "customer_id": invoice.customer_id,
        "subscription_id": invoice.subscription_id,
        "status": invoice.status.value,
        "currency": invoice.currency,
        "period_start": invoice.period.start,
        "period_end": invoice.period.end,
        "subtotal": str(invoice.subtotal.amount),
        "tax": str(invoice.tax.amount),
        "credits_applied": str(invoice.credits_applied.amount),
        "total": str(invoice.total.amount),
        "amount_due": str(invoice.amount_due.amount),
        "number": invoice.number,
        "issued_at": invoice.issued_at,
        "due_at": invoice.due_at,
        "paid_at": None,
        "voided_at": None,
        "updated_at": now,
        "kind": invoice.kind.value,
        "customer_snapshot": snapshot_to_json(pending.customer),
        "usage_read_at": invoice.usage_read_at,
    }


def _line_rows(invoice_id: str, draft: Draft) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for position, line in enumerate(draft.lines, start=1):
        served = line.service_period
        rows.append(
            {
                "id": f"{invoice_id}-{position:04d}",
                "invoice_id": invoice_id,
                "position": position,
                "kind": line.kind.value,
                "description": line.description,
                # A CREDIT line names the grant it burned, so finalizing a stored draft can record the burn.
                "charge_id": line.grant_id if line.kind is LineKind.CREDIT else line.charge_id,
                "meter_id": line.meter_id,
                "quantity": None if line.quantity is None else str(line.quantity),
                "unit_price": None if line.unit_price is None else str(line.unit_price),
                "amount": str(line.amount.amount),
                "tax": str(line.tax.amount),
                "tax_rate_percent": None if line.tax_rate_percent is None else str(line.tax_rate_percent),
                "currency": draft.currency,
                "service_period_start": None if served is None else served.start,
                "service_period_end": None if served is None else served.end,
                "breakdown": breakdown_to_json(line.breakdown),
                "event_ids": json.dumps(list(line.event_ids)) if line.event_ids else None,
                "group_values": None,
                "corrects_invoice_id": line.corrects_invoice_id or None,
            }
        )
    return rows


def controls_from_row(row: RowMapping) -> Controls:
    threshold = row["invoice_threshold"]
    return Controls(
        subscription_id=row["subscription_id"],
        currency=row["currency"],
        invoice_threshold=None if threshold is None else Decimal(threshold),
        spend_alerts=tuple(Decimal(v) for v in json.loads(row["spend_alerts"])),
        usage_alerts=tuple(
            (a["charge_id"], Decimal(a["threshold"])) for a in json.loads(row["usage_alerts"])
        ),
    )
