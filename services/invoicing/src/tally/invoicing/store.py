"""The invoice core in invoicing's tables: invoices with their lines, payments, number series, inbox and outbox,
each a repository on the caller's connection (SQLAlchemy Core; the only SQL of the core)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, RowMapping

from tally.invoicing.domain import (
    OPEN_STATUSES,
    CustomerSnapshot,
    Invoice,
    InvoiceFilter,
    InvoiceKey,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    Issuer,
    LineKind,
    OutboxMessage,
    Payment,
    Period,
    PostalAddress,
    References,
    TaxProfile,
    TaxTreatment,
)
from tally.invoicing.tables import invoice_lines, invoices, legal_entities, number_series, payments
from tally.money import Money
from tally.persistence import inbox, outbox
from tally.persistence.dialects import upsert_insert
from tally.pricing import BreakdownLine


def _at(moment: datetime | None) -> datetime:
    value = moment
    if value is None:
        raise ValueError("a required timestamp column is NULL")
    return value


def _optional_decimal(raw: str | None) -> Decimal | None:
    return None if raw is None else Decimal(raw)


def _decimal_text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _json(raw: str | None, default: Any) -> Any:
    return default if raw is None else json.loads(raw)


def _breakdown_to_json(breakdown: Sequence[BreakdownLine]) -> str | None:
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


def _address_to_json(address: PostalAddress) -> dict[str, str]:
    return {
        "line1": address.line1,
        "line2": address.line2,
        "city": address.city,
        "region": address.region,
        "postal_code": address.postal_code,
        "country": address.country,
    }


def _address(data: Any) -> PostalAddress:
    if isinstance(data, list):  # snapshots before addresses were kept in parts: their printed lines
        lines = [*data, "", ""]
        return PostalAddress(lines[0], lines[1], ", ".join(data[2:]))
    return PostalAddress(**data)


def _snapshot_to_json(customer: CustomerSnapshot | None) -> str | None:
    if customer is None:
        return None
    return json.dumps(
        {
            "name": customer.name,
            "email": customer.email,
            "postal_address": _address_to_json(customer.address),
            "tax_id": customer.tax_id,
            "external_id": customer.external_id,
            "billing_emails": list(customer.billing_emails),
            "locale": customer.locale,
            "tax": {
                "name": customer.tax.name,
                "jurisdiction": customer.tax.jurisdiction,
                "treatment": customer.tax.treatment.value,
                "note": customer.tax.note,
            },
        }
    )


def _snapshot(raw: str | None) -> CustomerSnapshot | None:
    if raw is None:
        return None
    data = json.loads(raw)
    tax = data.get("tax")
    return CustomerSnapshot(
        data["name"],
        data["email"],
        _address(data["postal_address"] if "postal_address" in data else data.get("address", [])),
        data["tax_id"],
        data.get("external_id", ""),
        tuple(data.get("billing_emails", ())),
        data.get("locale", ""),
        TaxProfile()
        if tax is None
        else TaxProfile(tax["name"], tax["jurisdiction"], TaxTreatment(tax["treatment"]), tax["note"]),
    )


def _issuer_to_json(issuer: Issuer | None) -> str | None:
    if issuer is None:
        return None
    return json.dumps(
        {
            "id": issuer.id,
            "legal_name": issuer.legal_name,
            "address": _address_to_json(issuer.address),
            "tax_id": issuer.tax_id,
            "registration_id": issuer.registration_id,
            "email": issuer.email,
            "remittance": list(issuer.remittance),
            "number_prefix": issuer.number_prefix,
            "locale": issuer.locale,
            "payment_terms_days": issuer.payment_terms_days,
        }
    )


def _issuer(raw: str | None) -> Issuer | None:
    if raw is None:
        return None
    data = json.loads(raw)
    return Issuer(
        data["id"],
        data["legal_name"],
        _address(data["address"]),
        data["tax_id"],
        data["registration_id"],
        data["email"],
        tuple(data["remittance"]),
        data["number_prefix"],
        data["locale"],
        data["payment_terms_days"],
    )


def _references_to_json(references: References) -> str | None:
    if references.is_empty():
        return None
    return json.dumps(
        {
            "quote": references.quote,
            "purchase_order": references.purchase_order,
            "contract": references.contract,
        }
    )


def _references(raw: str | None) -> References:
    return References() if raw is None else References(**json.loads(raw))


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


def invoice_from_row(row: RowMapping, lines: Sequence[InvoiceLine] = ()) -> Invoice:
    """An ``invoices`` row (with its lines, if given) as the domain's invoice."""
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
        usage_watermark=row["usage_watermark"] or 0,
        credits_before_tax=Decimal(row["credits_before_tax"]),
        credited=Decimal(row["credited"]),
        paid=Decimal(row["paid"]),
        issuer=_issuer(row["issuer_snapshot"]),
        references=_references(row["document_references"]),
    )


def _invoice_row(billing_key: str, invoice: Invoice, now: datetime) -> dict[str, object]:
    return {
        "id": invoice.id,
        "billing_key": billing_key,
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
        "paid_at": invoice.paid_at,
        "voided_at": invoice.voided_at,
        "updated_at": now,
        "kind": invoice.kind.value,
        "customer_snapshot": _snapshot_to_json(invoice.customer),
        "usage_read_at": invoice.usage_read_at,
        "usage_watermark": invoice.usage_watermark or None,
        "credits_before_tax": str(invoice.credits_before_tax),
        "credited": str(invoice.credited),
        "paid": str(invoice.paid),
        "issuer_snapshot": _issuer_to_json(invoice.issuer),
        "document_references": _references_to_json(invoice.references),
    }


def _line_rows(invoice: Invoice) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for line in invoice.lines:
        served = line.service_period
        rows.append(
            {
                "id": line.id,
                "invoice_id": invoice.id,
                "position": line.position,
                "kind": line.kind.value,
                "description": line.description,
                "charge_id": line.charge_id,
                "meter_id": line.meter_id,
                "quantity": _decimal_text(line.quantity),
                "unit_price": _decimal_text(line.unit_price),
                "amount": str(line.amount.amount),
                "tax": str(line.tax.amount),
                "tax_rate_percent": _decimal_text(line.tax_rate_percent),
                "currency": invoice.currency,
                "service_period_start": None if served is None else served.start,
                "service_period_end": None if served is None else served.end,
                "breakdown": _breakdown_to_json(line.breakdown),
                "event_ids": json.dumps(list(line.event_ids)) if line.event_ids else None,
                "group_values": json.dumps([list(pair) for pair in line.group]) if line.group else None,
                "corrects_invoice_id": line.corrects_invoice_id or None,
            }
        )
    return rows


class SqlInvoices:
    """The InvoiceRepository on one connection."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, invoice_id: str, *, for_update: bool = False, lines: bool = True) -> Invoice | None:
        query = select(invoices).where(invoices.c.id == invoice_id)
        if for_update:
            query = query.with_for_update()
        row = self._conn.execute(query).mappings().first()
        if row is None:
            return None
        if not lines:
            return invoice_from_row(row)
        found = self._conn.execute(
            select(invoice_lines)
            .where(invoice_lines.c.invoice_id == invoice_id)
            .order_by(invoice_lines.c.position)
        ).mappings()
        return invoice_from_row(row, [_line(line) for line in found])

    def find(self, where: InvoiceFilter, *, after: InvoiceKey | None, limit: int) -> list[Invoice]:
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
        return [invoice_from_row(row) for row in self._conn.execute(query).mappings()]

    def add(self, keyed: Sequence[tuple[str, Invoice]], *, now: datetime) -> None:
        if not keyed:
            return
        self._conn.execute(insert(invoices), [_invoice_row(key, invoice, now) for key, invoice in keyed])
        self._add_lines([invoice for _, invoice in keyed])

    def replace(self, keyed: Sequence[tuple[str, Invoice]], *, now: datetime) -> None:
        for key, invoice in keyed:
            self._conn.execute(delete(invoice_lines).where(invoice_lines.c.invoice_id == invoice.id))
            self._conn.execute(
                update(invoices).where(invoices.c.id == invoice.id).values(**_invoice_row(key, invoice, now))
            )
        self._add_lines([invoice for _, invoice in keyed])

    def _add_lines(self, written: Sequence[Invoice]) -> None:
        rows = [row for invoice in written for row in _line_rows(invoice)]
        if rows:
            self._conn.execute(insert(invoice_lines), rows)

    def finalize(self, invoice: Invoice, *, now: datetime) -> None:
        self._conn.execute(
            update(invoices)
            .where(invoices.c.id == invoice.id, invoices.c.status == InvoiceStatus.DRAFT.value)
            .values(
                number=invoice.number,
                status=InvoiceStatus.FINALIZED.value,
                issued_at=invoice.issued_at,
                due_at=invoice.due_at,
                updated_at=now,
            )
        )

    def void(self, invoice_id: str, *, now: datetime) -> bool:
        changed = self._conn.execute(
            update(invoices)
            .where(invoices.c.id == invoice_id, invoices.c.status == InvoiceStatus.FINALIZED.value)
            .values(status=InvoiceStatus.VOID.value, voided_at=now, updated_at=now)
        ).rowcount
        return bool(changed)

    def settle(self, invoice: Invoice, *, now: datetime) -> None:
        self._conn.execute(
            update(invoices)
            .where(invoices.c.id == invoice.id)
            .values(
                status=invoice.status.value,
                credited=str(invoice.credited),
                paid=str(invoice.paid),
                paid_at=invoice.paid_at,
                updated_at=now,
            )
        )

    def open_of_customer(self, customer_id: str) -> list[Invoice]:
        rows = self._conn.execute(
            select(invoices)
            .where(
                invoices.c.customer_id == customer_id,
                invoices.c.status.in_([status.value for status in OPEN_STATUSES]),
            )
            .order_by(invoices.c.issued_at, invoices.c.id)
        ).mappings()
        return [invoice_from_row(row) for row in rows]


class SqlPayments:
    """The PaymentRepository on one connection; a payment counts once, whatever message carries it."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, payment: Payment, *, now: datetime) -> bool:
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
            upsert_insert(payments, self._conn.dialect.name)
            .values(values)
            .on_conflict_do_nothing()
            .returning(payments.c.payment_id)
        )
        return self._conn.execute(stmt).first() is not None

    def amounts(self, invoice_id: str) -> list[Decimal]:
        rows = self._conn.execute(select(payments.c.amount).where(payments.c.invoice_id == invoice_id))
        return [Decimal(amount) for (amount,) in rows]


class SqlNumberSeries:
    """The NumberSeries on one connection: taking values is one upsert that advances the counter and returns it,
    so it locks the series row (PostgreSQL) or takes the write lock (SQLite) until the transaction ends."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def take(self, series: str, count: int = 1) -> int:
        dialect = self._conn.dialect.name
        statement: postgresql.Insert | sqlite.Insert
        if dialect == "postgresql":
            statement = postgresql.insert(number_series)
        elif dialect == "sqlite":
            statement = sqlite.insert(number_series)
        else:  # pragma: no cover - the two databases Tally runs on
            raise NotImplementedError(f"number series on {dialect}")
        advanced = self._conn.execute(
            statement.values(series=series, next_value=1 + count)
            .on_conflict_do_update(
                index_elements=[number_series.c.series],
                set_={"next_value": number_series.c.next_value + count},
            )
            .returning(number_series.c.next_value)
        ).scalar_one()
        return int(advanced) - count


class SqlEntityLogos:
    """The EntityLogos on one connection: a row per legal entity, rewritten only when its logo changed."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def put(self, entity_id: str, logo: bytes, *, now: datetime) -> None:
        if self._exists(entity_id) and self.get(entity_id) == logo:
            return
        self._conn.execute(delete(legal_entities).where(legal_entities.c.id == entity_id))
        self._conn.execute(insert(legal_entities).values(id=entity_id, logo=logo or None, updated_at=now))

    def _exists(self, entity_id: str) -> bool:
        found = self._conn.execute(select(legal_entities.c.id).where(legal_entities.c.id == entity_id))
        return found.first() is not None

    def get(self, entity_id: str) -> bytes:
        logo = self._conn.execute(
            select(legal_entities.c.logo).where(legal_entities.c.id == entity_id)
        ).scalar_one_or_none()
        return logo or b""


class SqlInbox:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def claim(self, consumer: str, msg_id: str) -> bool:
        return inbox.claim(self._conn, consumer, msg_id)


class SqlOutbox:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, message: OutboxMessage) -> None:
        outbox.enqueue(
            self._conn,
            message.subject,
            message.payload,
            message.msg_id,
            headers=dict(message.headers) or None,
        )

    def add_many(self, messages: Sequence[OutboxMessage]) -> None:
        outbox.enqueue_many(
            self._conn, [(message.subject, message.payload, message.msg_id) for message in messages]
        )
