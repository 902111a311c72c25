"""What the PDFs print (pure): stored invoices and credit notes turned into documents' views, and file names."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from tally.invoicing.credit_notes.domain import REASON_LABELS, CreditNote
from tally.invoicing.documents.views import (
    CreditNoteView,
    InvoiceView,
    LineView,
    Party,
    TierRow,
    format_date,
)
from tally.invoicing.domain import CustomerSnapshot, Invoice, InvoiceLine, InvoiceStatus, LineKind


def customer_party(customer: CustomerSnapshot | None, customer_id: str) -> Party:
    """The customer as snapshotted on the invoice; invoices drafted before snapshots print the customer id."""
    if customer is None:
        return Party(customer_id)
    return Party(customer.name, customer.address, tax_id=customer.tax_id, email=customer.email)


def _described(line: InvoiceLine) -> str:
    text = line.description
    if line.group:
        text += " (" + ", ".join(f"{key}: {value}" for key, value in line.group) + ")"
    if line.event_ids:
        count = len(line.event_ids)
        text += f", correcting {count} usage event{'s' if count != 1 else ''}"
    return text


def line_view(line: InvoiceLine) -> LineView:
    """One invoice line with its tier rows (the breakdown's full-precision subtotals)."""
    period = line.service_period
    return LineView(
        description=_described(line),
        amount=line.amount,
        quantity=line.quantity,
        unit_price=line.unit_price,
        service_start=None if period is None else period.start,
        service_end=None if period is None else period.end,
        tiers=tuple(
            TierRow(step.description, step.units, step.unit_price, step.subtotal) for step in line.breakdown
        ),
    )


def _percent(rate: Decimal) -> str:
    return f"{rate.normalize():f}"


def tax_label(lines: Iterable[InvoiceLine]) -> str:
    """``Tax 19 %`` when every taxed line has the same rate, else ``Tax``."""
    rates = {line.tax_rate_percent for line in lines if line.tax_rate_percent is not None}
    if len(rates) == 1:
        return f"Tax {_percent(rates.pop())} %"
    return "Tax"


def _payment_terms(invoice: Invoice) -> str:
    if invoice.status is InvoiceStatus.DRAFT or invoice.issued_at is None or invoice.due_at is None:
        return "Not yet issued: this draft may still change and is not payable."
    if invoice.status is InvoiceStatus.VOID:
        return "Voided: nothing is payable on this invoice."
    days = (invoice.due_at.date() - invoice.issued_at.date()).days
    return f"Payment due within {days} days of the issue date, by {format_date(invoice.due_at.date())}."


def invoice_view(invoice: Invoice, issuer: Party) -> InvoiceView:
    """The invoice as printed; prepaid CREDIT lines show in the totals ("Prepaid credits applied"), not as lines."""
    draft = invoice.status is InvoiceStatus.DRAFT or invoice.number is None
    charged = [line for line in invoice.lines if line.kind is not LineKind.CREDIT]
    issued = invoice.issued_at if not draft and invoice.issued_at is not None else invoice.created_at
    return InvoiceView(
        number="" if draft else invoice.number or "",
        issuer=issuer,
        customer=customer_party(invoice.customer, invoice.customer_id),
        issue_date=issued.date(),
        due_date=None if draft or invoice.due_at is None else invoice.due_at.date(),
        period_start=invoice.period.start,
        period_end=invoice.period.end,
        lines=tuple(line_view(line) for line in charged),
        subtotal=invoice.subtotal,
        tax=invoice.tax,
        credits_applied=invoice.credits_applied,
        total=invoice.total,
        amount_due=invoice.amount_due,
        payment_terms=_payment_terms(invoice),
        tax_label=tax_label(charged),
        draft=draft,
        voided_date=None if invoice.voided_at is None else invoice.voided_at.date(),
    )


def credit_note_view(note: CreditNote, invoice: Invoice, issuer: Party) -> CreditNoteView:
    """The credit note as printed; each line shows the service period of the invoice line it credits."""
    credited = {line.id: line for line in invoice.lines}
    lines = []
    for line in note.lines:
        period = credited[line.invoice_line_id].service_period if line.invoice_line_id in credited else None
        lines.append(
            LineView(
                description=line.description,
                amount=line.amount,
                quantity=line.quantity,
                service_start=None if period is None else period.start,
                service_end=None if period is None else period.end,
            )
        )
    reason = REASON_LABELS[note.reason]
    return CreditNoteView(
        number=note.number,
        invoice_number=note.invoice_number,
        issuer=issuer,
        customer=customer_party(invoice.customer, invoice.customer_id),
        issue_date=note.issued_at.date(),
        reason=f"{reason}: {note.memo}" if note.memo else reason,
        lines=tuple(lines),
        subtotal=note.subtotal,
        tax=note.tax,
        total=note.total,
    )


def invoice_filename(invoice: Invoice) -> str:
    """``INV-2026-000123.pdf``, or ``draft-<id>.pdf`` before the invoice has a number."""
    if invoice.status is InvoiceStatus.DRAFT or not invoice.number:
        return f"draft-{invoice.id}.pdf"
    return f"{invoice.number}.pdf"


def credit_note_filename(note: CreditNote) -> str:
    return f"{note.number}.pdf"
