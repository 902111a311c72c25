"""Invoicing's wire shapes: invoices to tally.api.invoicing.v1 messages, payments from erp_sync events."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from google.protobuf.timestamp_pb2 import Timestamp

from tally.api.catalog.v1 import catalog_service_pb2 as catalog_pb
from tally.api.common.v1 import period_pb2
from tally.api.erp_sync.v1 import erp_sync_service_pb2 as erp_pb
from tally.api.erp_sync.v1 import events_pb2 as erp_events
from tally.api.invoicing.v1 import invoicing_service_pb2 as pb
from tally.domain.errors import InvalidArgument
from tally.invoicing.domain import Invoice, InvoiceLine, InvoiceStatus, Payment, Period
from tally.mesh.wire import (
    decimal_to_wire,
    money_from_wire,
    money_to_wire,
    timestamp_from_wire,
    timestamp_to_wire,
)
from tally.money import Money
from tally.pricing import BreakdownLine
from tally.pricing import Period as BillingPeriod


def _stamp(moment: datetime | None) -> Timestamp | None:
    return None if moment is None else timestamp_to_wire(moment)


def _decimal(value: Decimal | None) -> str:
    return "" if value is None else decimal_to_wire(value)


def period_to_wire(period: Period | BillingPeriod) -> period_pb2.Period:
    return period_pb2.Period(start=timestamp_to_wire(period.start), end=timestamp_to_wire(period.end))


def period_from_wire(message: period_pb2.Period, *, field: str) -> Period | None:
    """The half-open span, None when unset; refused when it ends before it starts."""
    start, end = timestamp_from_wire(message.start), timestamp_from_wire(message.end)
    if start is None and end is None:
        return None
    if start is None or end is None or end <= start:
        raise InvalidArgument.field(field, "needs a start before its end")
    return Period(start, end)


def status_from_wire(status: pb.InvoiceStatus) -> InvoiceStatus | None:
    if status == pb.INVOICE_STATUS_UNSPECIFIED:
        return None
    return InvoiceStatus(pb.InvoiceStatus.Name(status).removeprefix("INVOICE_STATUS_"))


def _line_to_wire(line: InvoiceLine) -> pb.InvoiceLine:
    return pb.InvoiceLine(
        id=line.id,
        kind=f"INVOICE_LINE_KIND_{line.kind.value}",
        description=line.description,
        charge_id=line.charge_id,
        meter_id=line.meter_id,
        service_period=None if line.service_period is None else period_to_wire(line.service_period),
        quantity=_decimal(line.quantity),
        unit_price=_decimal(line.unit_price),
        amount=money_to_wire(line.amount),
        tax=money_to_wire(line.tax),
        tax_rate_percent=_decimal(line.tax_rate_percent),
        breakdown=[breakdown_to_wire(step) for step in line.breakdown],
        event_ids=line.event_ids,
        group=dict(line.group),
        corrects_invoice_id=line.corrects_invoice_id,
    )


def breakdown_to_wire(step: BreakdownLine) -> catalog_pb.BreakdownLine:
    return catalog_pb.BreakdownLine(
        description=step.description,
        tier_index=step.tier_index,
        units=decimal_to_wire(step.units),
        unit_price=decimal_to_wire(step.unit_price),
        flat_fee="" if step.flat_fee == 0 else decimal_to_wire(step.flat_fee),
        subtotal=decimal_to_wire(step.subtotal),
    )


def invoice_to_wire(invoice: Invoice) -> pb.Invoice:
    return pb.Invoice(
        id=invoice.id,
        number=invoice.number or "",
        customer_id=invoice.customer_id,
        subscription_id=invoice.subscription_id,
        status=f"INVOICE_STATUS_{invoice.status.value}",
        currency=invoice.currency,
        period=period_to_wire(invoice.period),
        lines=[_line_to_wire(line) for line in invoice.lines],
        subtotal=money_to_wire(invoice.subtotal),
        tax=money_to_wire(invoice.tax),
        credits_applied=money_to_wire(invoice.credits_applied),
        total=money_to_wire(invoice.total),
        amount_due=money_to_wire(invoice.amount_due),
        issued_at=_stamp(invoice.issued_at),
        due_at=_stamp(invoice.due_at),
        paid_at=_stamp(invoice.paid_at),
        voided_at=_stamp(invoice.voided_at),
        customer_external_id="" if invoice.customer is None else invoice.customer.external_id,
        customer_name="" if invoice.customer is None else invoice.customer.name,
        kind=f"INVOICE_KIND_{invoice.kind.value}",
        usage_read_at=_stamp(invoice.usage_read_at),
        usage_watermark=invoice.usage_watermark,
        credits_before_tax=money_to_wire(invoice.promotional_credit),
        tax_base=money_to_wire(invoice.subtotal - invoice.promotional_credit),
        amount_credited=money_to_wire(Money(invoice.credited, invoice.currency)),
        amount_paid=money_to_wire(Money(invoice.paid, invoice.currency)),
        amount_remaining=money_to_wire(invoice.amount_remaining),
        issuer=None
        if invoice.issuer is None
        else pb.Issuer(
            legal_entity_id=invoice.issuer.id,
            legal_name=invoice.issuer.legal_name,
            number_prefix=invoice.issuer.number_prefix,
        ),
        references=pb.DocumentReferences(
            quote_number=invoice.references.quote,
            purchase_order=invoice.references.purchase_order,
            contract_reference=invoice.references.contract,
        ),
    )


def payment_from_wire(data: bytes, *, default_received_at: datetime) -> Payment:
    """The payment a PaymentRecorded message carries; InvalidArgument if it is malformed."""
    event = erp_events.PaymentRecorded.FromString(data)
    if not event.payment_id:
        raise InvalidArgument.field("payment_id", "is required")
    if not event.invoice_id:
        raise InvalidArgument.field("invoice_id", "is required")
    return Payment(
        payment_id=event.payment_id,
        invoice_id=event.invoice_id,
        erp=erp_pb.Erp.Name(event.erp).removeprefix("ERP_"),
        amount=money_from_wire(event.amount, field="amount"),
        received_at=timestamp_from_wire(event.received_at) or default_received_at,
        erp_reference=event.erp_reference,
    )
