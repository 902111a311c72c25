"""Invoicing's tables: invoices, their lines and the payments recorded against them."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Engine,
    and_,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection, RowMapping

from tally.domain.errors import FailedPrecondition, NotFound
from tally.invoicing.credit_ledger import store as ledger
from tally.invoicing.domain import (
    CustomerSnapshot,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    Payment,
    PaymentOutcome,
    Period,
    settles,
)
from tally.invoicing.numbering import INVOICE_PREFIX, take_number
from tally.invoicing.tables import invoice_lines, invoices, payments
from tally.money import Money
from tally.persistence import inbox, outbox
from tally.persistence.dialects import upsert_insert
from tally.pricing import BreakdownLine, LedgerEntry


@dataclass(frozen=True)
class OutboxMessage:
    """An event to publish if, and only if, the transaction writing it commits."""

    subject: str
    msg_id: str
    payload: bytes


@dataclass(frozen=True)
class InvoiceFilter:
    customer_id: str | None = None
    status: InvoiceStatus | None = None
    overlapping: Period | None = None


@dataclass(frozen=True)
class InvoiceKey:
    """Where a page of invoices (newest first) ended."""

    created_at: datetime
    id: str


def _at(moment: datetime | None) -> datetime:
    value = moment
    if value is None:
        raise ValueError("a required timestamp column is NULL")
    return value


def _optional_decimal(raw: str | None) -> Decimal | None:
    return None if raw is None else Decimal(raw)


def _json(raw: str | None, default: Any) -> Any:
    return default if raw is None else json.loads(raw)


def breakdown_to_json(breakdown: Sequence[BreakdownLine]) -> str | None:
    if not breakdown:
        return None
    return json.dumps(
        [
            [
                step.description,
                step.tier_index,
                str(step.units),
                str(step.unit_price),
                str(step.flat_fee),
                str(step.subtotal),
            ]
            for step in breakdown
        ]
    )


def _breakdown(raw: str | None) -> tuple[BreakdownLine, ...]:
    return tuple(
        BreakdownLine(description, tier, Decimal(units), Decimal(price), Decimal(fee), Decimal(subtotal))
        for description, tier, units, price, fee, subtotal in _json(raw, [])
    )


def snapshot_to_json(customer: CustomerSnapshot | None) -> str | None:
    if customer is None:
        return None
    return json.dumps(
        {
            "name": customer.name,
            "email": customer.email,
            "address": list(customer.address),
            "tax_id": customer.tax_id,
            "external_id": customer.external_id,
        }
    )


def _snapshot(raw: str | None) -> CustomerSnapshot | None:
    if raw is None:
        return None
    data = json.loads(raw)
    return CustomerSnapshot(
        data["name"], data["email"], tuple(data["address"]), data["tax_id"], data.get("external_id", "")
    )


def _line(row: RowMapping) -> InvoiceLine:
    currency = row["currency"]
    start, end = row["service_period_start"], row["service_period_end"]
    return InvoiceLine(
        id=row["id"],
        position=row["position"],
        kind=LineKind(row["kind"]),
        description=row["description"],
        amount=Money(Decimal(row["amount"]), currency),
        tax=Money(Decimal(row["tax"]), currency),
        quantity=_optional_decimal(row["quantity"]),
        unit_price=_optional_decimal(row["unit_price"]),
        tax_rate_percent=_optional_decimal(row["tax_rate_percent"]),
        service_period=Period(start, end) if start is not None and end is not None else None,
        charge_id=row["charge_id"],
        meter_id=row["meter_id"],
        breakdown=_breakdown(row["breakdown"]),
        event_ids=tuple(_json(row["event_ids"], [])),
        group=tuple((key, value) for key, value in _json(row["group_values"], [])),
        corrects_invoice_id=row["corrects_invoice_id"] or "",
    )


def _invoice(row: RowMapping, lines: Sequence[InvoiceLine] = ()) -> Invoice:
    currency = row["currency"]

    def money(column: str) -> Money:
        return Money(Decimal(row[column]), currency)

    return Invoice(
        id=row["id"],
        number=row["number"],
        customer_id=row["customer_id"],
        subscription_id=row["subscription_id"],
        status=InvoiceStatus(row["status"]),
        currency=currency,
        period=Period(_at(row["period_start"]), _at(row["period_end"])),
        subtotal=money("subtotal"),
        tax=money("tax"),
        credits_applied=money("credits_applied"),
        total=money("total"),
        amount_due=money("amount_due"),
        created_at=_at(row["created_at"]),
        issued_at=row["issued_at"],
        due_at=row["due_at"],
        paid_at=row["paid_at"],
        voided_at=row["voided_at"],
        lines=tuple(lines),
        kind=InvoiceKind(row["kind"]),
        customer=_snapshot(row["customer_snapshot"]),
        usage_read_at=None if row["usage_read_at"] is None else _at(row["usage_read_at"]),
    )


def load_invoice(conn: Connection, invoice_id: str, *, for_update: bool = False) -> Invoice | None:
    query = select(invoices).where(invoices.c.id == invoice_id)
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    if row is None:
        return None
    lines = conn.execute(
        select(invoice_lines)
        .where(invoice_lines.c.invoice_id == invoice_id)
        .order_by(invoice_lines.c.position)
    ).mappings()
    return _invoice(row, [_line(line) for line in lines])


def _burn_credit_lines(conn: Connection, draft: Invoice, number: str, now: datetime) -> None:
    """Records the burns a stored draft's CREDIT lines promise, refusing if the credit was spent meanwhile."""
    entries = []
    for line in draft.lines:
        if line.kind is not LineKind.CREDIT or not line.charge_id:
            continue
        taken = -line.amount.amount
        left = ledger.balance(conn, line.charge_id)
        if left < taken:
            raise FailedPrecondition(
                f"credit grant {line.charge_id!r} has {left} left, less than the {taken} this draft applies; "
                "run billing again to re-draft the invoice"
            )
        entries.append(LedgerEntry(line.charge_id, taken, left - taken))
    ledger.record_burns(
        conn,
        customer_id=draft.customer_id,
        currency=draft.currency,
        invoice_id=draft.id,
        invoice_number=number,
        entries=entries,
        at=now,
    )


class _AlreadyFinalized(Exception):
    """Unwinds a finalize transaction whose invoice was finalized before."""

    def __init__(self, invoice: Invoice) -> None:
        super().__init__(invoice.id)
        self.invoice = invoice


class InvoiceStore:
    """Reads invoices with their lines, and finalizes drafts."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get(self, invoice_id: str) -> Invoice | None:
        with self._engine.connect() as conn:
            return load_invoice(conn, invoice_id)

    def finalize(
        self,
        invoice_id: str,
        *,
        now: datetime,
        payment_terms: timedelta,
        event: Callable[[Invoice], OutboxMessage],
    ) -> Invoice:
        """Number a DRAFT, set it FINALIZED (issued ``now``, due ``now + payment_terms``) and enqueue ``event``
        of the result, all in one transaction; an invoice finalized before is returned as it is, and NotFound
        or FailedPrecondition (PAID, VOID) roll everything back.

        The number is taken by the transaction's first statement, a write: on SQLite that takes the database's
        write lock before anything is read (a WAL transaction that read first could not wait for it), and on
        PostgreSQL it locks the series row, so concurrent finalizes queue in order. A refused finalize rolls
        the counter back with it, so numbers stay gapless.
        """
        try:
            return self._finalize(invoice_id, now=now, payment_terms=payment_terms, event=event)
        except _AlreadyFinalized as done:
            # The contract makes finalize idempotent: a retry gets the invoice as it was finalized. The
            # exception rolled back the number this attempt took, so numbering stays gapless.
            return done.invoice

    def _finalize(
        self,
        invoice_id: str,
        *,
        now: datetime,
        payment_terms: timedelta,
        event: Callable[[Invoice], OutboxMessage],
    ) -> Invoice:
        with self._engine.begin() as conn:
            number = take_number(conn, INVOICE_PREFIX, now)
            draft = load_invoice(conn, invoice_id, for_update=True)
            if draft is None:
                raise NotFound("invoice", invoice_id, field="invoice_id")
            if draft.status is InvoiceStatus.FINALIZED:
                raise _AlreadyFinalized(draft)
            if draft.status is not InvoiceStatus.DRAFT:
                raise FailedPrecondition(
                    f"invoice {invoice_id!r} is {draft.status.value}; only a DRAFT invoice can be finalized"
                )
            _burn_credit_lines(conn, draft, number, now)
            finalized = replace(
                draft,
                number=number,
                status=InvoiceStatus.FINALIZED,
                issued_at=now,
                due_at=now + payment_terms,
            )
            conn.execute(
                update(invoices)
                .where(invoices.c.id == invoice_id, invoices.c.status == InvoiceStatus.DRAFT.value)
                .values(
                    number=finalized.number,
                    status=finalized.status.value,
                    issued_at=finalized.issued_at,
                    due_at=finalized.due_at,
                    updated_at=now,
                )
            )
            message = event(finalized)
            outbox.enqueue(conn, message.subject, message.payload, message.msg_id)
            return finalized

    def list(self, where: InvoiceFilter, *, after: InvoiceKey | None, limit: int) -> list[Invoice]:
        """Invoices newest first (lines left out), starting after ``after``."""
        query = select(invoices).order_by(invoices.c.created_at.desc(), invoices.c.id.desc()).limit(limit)
        if where.customer_id:
            query = query.where(invoices.c.customer_id == where.customer_id)
        if where.status is not None:
            query = query.where(invoices.c.status == where.status.value)
        if where.overlapping is not None:
            query = query.where(
                invoices.c.period_start < where.overlapping.end,
                invoices.c.period_end > where.overlapping.start,
            )
        if after is not None:
            query = query.where(
                or_(
                    invoices.c.created_at < after.created_at,
                    and_(invoices.c.created_at == after.created_at, invoices.c.id < after.id),
                )
            )
        with self._engine.connect() as conn:
            return [_invoice(row) for row in conn.execute(query).mappings()]


class PaymentLedger:
    """Records payments from the ERP: once per message (inbox) and once per payment id."""

    def __init__(self, engine: Engine, consumer: str) -> None:
        self._engine = engine
        self._consumer = consumer

    def record(self, msg_id: str, payment: Payment, *, now: datetime) -> PaymentOutcome:
        """Claim ``msg_id`` and apply ``payment`` in one transaction; what happened is returned."""
        with self._engine.begin() as conn:
            if not inbox.claim(conn, self._consumer, msg_id):
                return PaymentOutcome.DUPLICATE
            row = (
                conn.execute(select(invoices).where(invoices.c.id == payment.invoice_id).with_for_update())
                .mappings()
                .first()
            )
            if row is None:
                return PaymentOutcome.UNKNOWN_INVOICE
            invoice = _invoice(row)
            if invoice.currency != payment.amount.currency:
                return PaymentOutcome.CURRENCY_MISMATCH
            if not self._insert(conn, payment, now):
                return PaymentOutcome.DUPLICATE
            paid = Money(Decimal(0), invoice.currency)
            for (amount,) in conn.execute(
                select(payments.c.amount).where(payments.c.invoice_id == invoice.id)
            ):
                paid = paid + Money(Decimal(amount), invoice.currency)
            if not settles(invoice.status, invoice.amount_due, paid):
                return PaymentOutcome.RECORDED
            conn.execute(
                update(invoices)
                .where(invoices.c.id == invoice.id)
                .values(status=InvoiceStatus.PAID.value, paid_at=payment.received_at, updated_at=now)
            )
            return PaymentOutcome.SETTLED

    def _insert(self, conn: Connection, payment: Payment, now: datetime) -> bool:
        values = {
            "payment_id": payment.payment_id,
            "invoice_id": payment.invoice_id,
            "erp": payment.erp,
            "amount": str(payment.amount.amount),
            "currency": payment.amount.currency,
            "received_at": payment.received_at,
            "erp_reference": payment.erp_reference,
            "recorded_at": now,
        }
        stmt = (
            upsert_insert(payments, conn.dialect.name)
            .values(values)
            .on_conflict_do_nothing()
            .returning(payments.c.payment_id)
        )
        return conn.execute(stmt).first() is not None
