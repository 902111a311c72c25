"""What the PDFs print (pure): stored invoices, credit notes and statements turned into documents' views, in the
customer's locale (else its issuer's), and file names.

- Who issues: the legal entity on the invoice (its legal name, address in its country's format, tax and
  registration ids, remittance details and logo), else the install's default issuer.
- Lines: a tier's range is written with the document's number format ("Tier 2: over 1,000 – 5,000"), as its
  quantities are; breakdown amounts are exact and printed at the currency's precision, the line amount is billed.
- Totals: subtotal; promotional credit before tax; tax per rate with its type, rate and jurisdiction and the base
  it is computed on; total; prepaid credit; amount due; on an issued invoice credit notes and payments applied and
  the balance still due. An exemption or a reverse charge prints its note, even with no tax on the invoice.
- References: the quote, purchase order and contract the invoice refers to.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from tally.invoicing.credit_notes.domain import REASON_LABELS, CreditNote
from tally.invoicing.documents.addresses import address_lines
from tally.invoicing.documents.views import (
    CreditNoteView,
    InvoiceView,
    LineView,
    Party,
    StatementRow,
    StatementView,
    TaxRow,
    TierRow,
    TotalRow,
    format_date,
)
from tally.invoicing.domain import (
    CustomerSnapshot,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Issuer,
    LineKind,
    TaxProfile,
    TaxTreatment,
)
from tally.invoicing.receivables.domain import Statement
from tally.money import Money
from tally.money.formatting import format_money, format_number, format_percent
from tally.pricing import BreakdownLine

ZERO = Decimal(0)


def issuer_party(issuer: Issuer | None, default: Party) -> Party:
    """The legal entity issuing a document as printed; ``default`` (the install's issuer) when there is none."""
    if issuer is None:
        return default
    return Party(
        issuer.legal_name,
        address_lines(issuer.address),
        tax_id=issuer.tax_id,
        email=issuer.email,
        registration_id=issuer.registration_id,
    )


def customer_party(customer: CustomerSnapshot | None, customer_id: str) -> Party:
    """The customer as snapshotted on the invoice; invoices drafted before snapshots print the customer id."""
    if customer is None:
        return Party(customer_id)
    return Party(customer.name, address_lines(customer.address), tax_id=customer.tax_id, email=customer.email)


def document_locale(customer: CustomerSnapshot | None, issuer: Issuer | None) -> str:
    """The customer's locale, else its issuer's, else English."""
    if customer is not None and customer.locale:
        return customer.locale
    return issuer.locale if issuer is not None and issuer.locale else "en"


def _described(line: InvoiceLine) -> str:
    text = line.description
    if line.group:
        text += " (" + ", ".join(f"{key}: {value}" for key, value in line.group) + ")"
    if line.event_ids:
        count = len(line.event_ids)
        text += f", correcting {count} usage event{'s' if count != 1 else ''}"
    return text


def tier_label(step: BreakdownLine, locale: str) -> str:
    """A tier's range in the document's number format; other rows keep their description."""
    if step.tier_index <= 0 or (step.lower is None and step.upper is None):
        return step.description
    lower = None if step.lower is None else format_number(step.lower, locale)
    upper = None if step.upper is None else format_number(step.upper, locale)
    if upper is None:
        return f"Tier {step.tier_index}: over {lower}"
    if lower is None:
        return f"Tier {step.tier_index}: 0 – {upper}"
    return f"Tier {step.tier_index}: over {lower} – {upper}"


def line_view(line: InvoiceLine, locale: str = "en") -> LineView:
    """One invoice line with its breakdown rows (exact amounts, printed at the currency's precision)."""
    period = line.service_period
    currency = line.amount.currency
    return LineView(
        description=_described(line),
        amount=line.amount,
        quantity=line.quantity,
        unit_price=line.unit_price,
        service_start=None if period is None else period.start,
        service_end=None if period is None else period.end,
        tiers=tuple(
            TierRow(
                tier_label(step, locale),
                None if line.kind is LineKind.MINIMUM_TRUE_UP else step.units,
                None if line.kind is LineKind.MINIMUM_TRUE_UP else step.unit_price,
                Money(step.subtotal, currency),
            )
            for step in line.breakdown
        ),
    )


def _jurisdiction(tax: TaxProfile) -> str:
    return f" ({tax.jurisdiction})" if tax.jurisdiction else ""


def tax_rows(lines: Iterable[InvoiceLine], tax: TaxProfile, locale: str) -> tuple[TaxRow, ...]:
    """Tax per rate, in rate order, each on the base it is computed on (promotional credit before tax lowers it):
    "VAT 20% (United Kingdom)". Untaxed lines carry none."""
    bases: dict[Decimal, list[Money]] = {}
    for line in lines:
        if line.tax_rate_percent is not None:
            found = bases.setdefault(line.tax_rate_percent, [Money.zero(line.amount.currency)] * 2)
            found[0] = found[0] + line.amount
            found[1] = found[1] + line.tax
    return tuple(
        TaxRow(f"{tax.name} {format_percent(rate, locale)}{_jurisdiction(tax)}", base, amount)
        for rate, (base, amount) in sorted(bases.items())
    )


def invoice_totals(invoice: Invoice, locale: str) -> tuple[TotalRow, ...]:
    currency = invoice.currency
    tax = invoice.customer.tax if invoice.customer is not None else TaxProfile()
    rows = [TotalRow("Subtotal", invoice.subtotal)]
    if invoice.credits_before_tax:
        rows.append(TotalRow("Promotional credit (before tax)", -invoice.promotional_credit))
    # Promotional CREDIT lines carry a rate: they lower its base and its tax. Prepaid credit carries none.
    taxed = tax_rows(invoice.lines, tax, locale)
    for row in taxed:
        rows.append(TotalRow(f"{row.label} on {format_money(row.base, locale)}", row.tax))
    if not taxed:
        rows.append(TotalRow(tax.name, invoice.tax))
    rows.append(TotalRow("Total", invoice.total))
    if not invoice.credits_applied.is_zero():
        rows.append(TotalRow("Prepaid credit applied", -invoice.credits_applied))
    rows.append(TotalRow("Amount due", invoice.amount_due, strong=not (invoice.credited or invoice.paid)))
    if invoice.credited:
        rows.append(TotalRow("Credit notes applied", Money(-invoice.credited, currency)))
    if invoice.paid:
        rows.append(TotalRow("Payments received", Money(-invoice.paid, currency)))
    if invoice.credited or invoice.paid:
        rows.append(TotalRow("Balance due", invoice.amount_remaining, strong=True))
    return tuple(rows)


def _payment_terms(invoice: Invoice, locale: str) -> str:
    if invoice.status is InvoiceStatus.DRAFT or invoice.issued_at is None or invoice.due_at is None:
        return "Not yet issued: this draft may still change and is not payable."
    if invoice.status is InvoiceStatus.VOID:
        return "Voided: nothing is payable on this invoice."
    if invoice.status is InvoiceStatus.PAID:
        return "Paid: nothing is owed on this invoice."
    days = (invoice.due_at.date() - invoice.issued_at.date()).days
    return (
        f"Payment due within {days} days of the issue date, by {format_date(invoice.due_at.date(), locale)}."
    )


def references(invoice: Invoice) -> tuple[tuple[str, str], ...]:
    found = invoice.references
    named = (("Quote", found.quote), ("Purchase order", found.purchase_order), ("Contract", found.contract))
    return tuple((label, value) for label, value in named if value)


def notes(customer: CustomerSnapshot | None) -> tuple[str, ...]:
    if customer is None or customer.tax.treatment is TaxTreatment.STANDARD:
        return ()
    return (customer.tax.note,) if customer.tax.note else ()


_STATUS_LABELS = {InvoiceStatus.PARTIALLY_PAID: "Partially paid", InvoiceStatus.PAID: "Paid"}


def invoice_view(invoice: Invoice, default_issuer: Party, logo: bytes = b"") -> InvoiceView:
    """The invoice as printed; CREDIT lines show in the totals (credit before and after tax), not as lines."""
    draft = invoice.status is InvoiceStatus.DRAFT or invoice.number is None
    locale = document_locale(invoice.customer, invoice.issuer)
    charged = [line for line in invoice.lines if line.kind is not LineKind.CREDIT]
    issued = invoice.issued_at if not draft and invoice.issued_at is not None else invoice.created_at
    return InvoiceView(
        number="" if draft else invoice.number or "",
        issuer=issuer_party(invoice.issuer, default_issuer),
        customer=customer_party(invoice.customer, invoice.customer_id),
        issue_date=issued.date(),
        due_date=None if draft or invoice.due_at is None else invoice.due_at.date(),
        period_start=invoice.period.start,
        period_end=invoice.period.end,
        lines=tuple(line_view(line, locale) for line in charged),
        totals=invoice_totals(invoice, locale),
        payment_terms=_payment_terms(invoice, locale),
        locale=locale,
        references=references(invoice),
        notes=notes(invoice.customer),
        remittance=() if invoice.issuer is None else invoice.issuer.remittance,
        logo=logo,
        draft=draft,
        voided_date=None if invoice.voided_at is None else invoice.voided_at.date(),
        status=_STATUS_LABELS.get(invoice.status, ""),
    )


def credit_note_view(
    note: CreditNote, invoice: Invoice, default_issuer: Party, logo: bytes = b""
) -> CreditNoteView:
    """The credit note as printed; each line shows the service period of the invoice line it credits, and the
    totals say how much went off the invoice and how much became the customer's credit."""
    locale = document_locale(invoice.customer, invoice.issuer)
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
    totals = [
        TotalRow("Subtotal credited", note.subtotal),
        TotalRow("Tax credited", note.tax),
        TotalRow("Total credited", note.total, strong=True),
    ]
    if note.applied:
        totals.append(TotalRow(f"Applied to invoice {note.invoice_number}", note.amount_applied))
    if note.carried:
        totals.append(TotalRow("Added to your credit balance", note.carried_forward))
    return CreditNoteView(
        number=note.number,
        invoice_number=note.invoice_number,
        issuer=issuer_party(invoice.issuer, default_issuer),
        customer=customer_party(invoice.customer, invoice.customer_id),
        issue_date=note.issued_at.date(),
        reason=f"{reason}: {note.memo}" if note.memo else reason,
        lines=tuple(lines),
        totals=tuple(totals),
        locale=locale,
        logo=logo,
    )


def statement_view(
    statement: Statement, newest: Invoice | None, default_issuer: Party, logo: bytes = b""
) -> StatementView:
    """A customer's statement, headed as its newest invoice was (issuer, customer, locale)."""
    customer = None if newest is None else newest.customer
    issuer = None if newest is None else newest.issuer
    locale = document_locale(customer, issuer)
    rows = tuple(
        StatementRow(
            item.invoice.number or item.invoice.id,
            None if item.invoice.issued_at is None else item.invoice.issued_at.date(),
            None if item.invoice.due_at is None else item.invoice.due_at.date(),
            item.invoice.amount_due,
            item.remaining,
            item.age_days,
            item.bucket.value,
        )
        for item in statement.items
    )
    summaries = tuple(
        (
            summary.currency,
            (
                *(TotalRow(f"{bucket.value} days", amount) for bucket, amount in summary.buckets),
                TotalRow("Outstanding", summary.outstanding),
                TotalRow("Credit balance", -summary.credit_balance),
                TotalRow("Net due", summary.net, strong=True),
            ),
        )
        for summary in statement.summaries
    )
    return StatementView(
        issuer=issuer_party(issuer, default_issuer),
        customer=customer_party(customer, statement.customer_id),
        as_of=statement.as_of.date(),
        rows=rows,
        summaries=summaries,
        locale=locale,
        logo=logo,
        remittance=() if issuer is None else issuer.remittance,
    )


def invoice_filename(invoice: Invoice) -> str:
    """``INV-2026-000123.pdf``, or ``draft-<id>.pdf`` before the invoice has a number."""
    if invoice.status is InvoiceStatus.DRAFT or not invoice.number:
        return f"draft-{invoice.id}.pdf"
    return f"{invoice.number}.pdf"


def credit_note_filename(note: CreditNote) -> str:
    return f"{note.number}.pdf"


def statement_filename(customer_id: str, as_of: datetime) -> str:
    return f"statement-{customer_id}-{as_of.date().isoformat()}.pdf"


def newest_of(invoices: Sequence[Invoice]) -> Invoice | None:
    issued = [invoice for invoice in invoices if invoice.issued_at is not None]
    return max(issued, key=lambda invoice: invoice.issued_at or invoice.created_at, default=None)
