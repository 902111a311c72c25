"""Quote PDFs (reportlab platypus): the offer, its terms and ramps, the priced periods, the contract values,
its validity and a signature block (filled in once the customer has accepted)."""

from __future__ import annotations

import io
from datetime import datetime
from decimal import Decimal
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer, Table, TableStyle

from tally.money import minor_units
from tally.pdf_style import BAND, BASE, BOLD, INK, MUTED, RULE, SMALL, TITLE, WIDTH, a4_document
from tally.pricing import Discount, DiscountKind
from tally.quoting.domain import PricedQuote, Quote, QuoteLine, QuoteStatus

_HEADING = ParagraphStyle("heading", parent=BOLD, fontSize=11, leading=14, spaceBefore=8, spaceAfter=4)
_CYCLES = {1: "monthly", 3: "quarterly", 12: "annually"}


def _money(amount: Decimal, currency: str) -> str:
    """``USD 1,234.50``, ``JPY 12,345``: the currency's minor units, thousands separated."""
    return f"{currency} {amount:,.{minor_units(currency)}f}"


def _date(moment: datetime | None) -> str:
    return "—" if moment is None else f"{moment:%Y-%m-%d}"


def _text(value: str) -> Paragraph:
    return Paragraph(escape(value), BASE)


def _table(rows: list[list[str]], widths: tuple[float, ...], *, numbers_from: int) -> Table:
    table = Table(rows, colWidths=[WIDTH * share for share in widths], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
                ("TEXTCOLOR", (0, 0), (-1, 0), MUTED),
                ("FONT", (0, 1), (-1, -1), "Helvetica", 9),
                ("TEXTCOLOR", (0, 1), (-1, -1), INK),
                ("ALIGN", (numbers_from, 0), (-1, -1), "RIGHT"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, RULE),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, BAND]),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def _discount(discount: Discount, currency: str) -> str:
    amount = (
        f"{discount.value} %"
        if discount.kind is DiscountKind.PERCENTAGE
        else _money(discount.value, currency)
    )
    on = f" on {discount.charge_id}" if discount.charge_id else ""
    return f"{discount.description or 'Discount'}: {amount}{on}"


def _line(line: QuoteLine) -> str:
    parts = [line.description or line.charge_id]
    if line.price is not None:
        parts.append(f"{line.price.price.model} price negotiated")
    if line.included_quantity is not None:
        parts.append(f"{line.included_quantity:,} included")
    return ", ".join(parts)


def render_quote(quote: Quote, priced: PricedQuote, customer_name: str, now: datetime, issuer: str) -> bytes:
    """The quote as a PDF; its text holds the number, each period's total, the TCV and the validity."""
    terms = quote.terms
    currency = terms.currency
    value = priced.value
    story: list[Flowable] = [
        Paragraph(f"Quote {escape(quote.number)}", TITLE),
        Paragraph(
            f"{escape(issuer)} · version {quote.version} · {quote.status_at(now).value.lower()}", SMALL
        ),
        Spacer(1, 6 * mm),
        _text(f"For: {customer_name or terms.customer_id}"),
        _text(f"Plan version: {terms.plan_version_id}"),
        _text(
            f"Term: {terms.term_months} months from {_date(terms.start_at)}"
            if terms.term_months
            else f"Term: open-ended from {_date(terms.start_at)} (priced over its first year)"
        ),
        _text(f"Billed {_CYCLES[terms.billing_cycle.value] if terms.billing_cycle else '—'}, in {currency}"),
        _text(f"Payment terms: {terms.payment_terms_days or 'standard'} days"),
        _text(f"Valid until: {_date(terms.valid_until)}"),
    ]
    negotiated = [_line(line) for line in terms.lines]
    negotiated += [_discount(d, currency) for d in terms.discounts]
    if terms.minimum_commitment is not None:
        negotiated.append(f"Minimum commitment: {_money(terms.minimum_commitment, currency)} per period")
    if terms.prepaid_credit:
        negotiated.append(f"Prepaid credit: {_money(terms.prepaid_credit, currency)}")
    if negotiated:
        story.append(Paragraph("Negotiated terms", _HEADING))
        story += [_text(f"• {item}") for item in negotiated]
    if terms.ramps:
        story.append(Paragraph("Ramps", _HEADING))
        for ramp in terms.ramps:
            start, end = terms.ramp_span(ramp)
            changes = [_line(line) for line in ramp.lines] + [_discount(d, currency) for d in ramp.discounts]
            label = ramp.description or f"Months {ramp.start_month + 1}–{ramp.start_month + ramp.months}"
            story.append(
                _text(f"• {label} ({_date(start)} to {_date(end)}): {'; '.join(changes) or 'list terms'}")
            )

    story.append(Paragraph("Estimated invoices", _HEADING))
    rows = [["Period", "Billed", "Subtotal", "Tax", "Credit", "Total"]]
    for invoice in priced.estimate.invoices:
        rows.append(
            [
                f"{_date(invoice.period.start)} – {_date(invoice.period.end)}",
                "at start (fees in advance)" if invoice.opening else f"period {invoice.period_index}",
                _money(invoice.subtotal, currency),
                _money(invoice.tax, currency),
                _money(-invoice.credits_applied, currency),
                _money(invoice.total, currency),
            ]
        )
    story.append(_table(rows, (0.25, 0.19, 0.15, 0.13, 0.13, 0.15), numbers_from=2))
    story.append(Spacer(1, 4 * mm))
    values = [
        ["Contract value", ""],
        ["Total contract value (TCV)", _money(value.total, currency)],
        ["Annual contract value (ACV)", _money(value.annual, currency)],
        ["First-year value", _money(value.first_year, currency)],
        ["At list prices", _money(value.list_total, currency)],
        ["Effective discount", f"{value.effective_discount_percent} %"],
    ]
    story.append(_table(values, (0.7, 0.3), numbers_from=1))
    story.append(
        Paragraph(
            "Estimates price the usage assumed in this quote with the same engine and rounding as the invoices; "
            "invoices bill the usage actually metered. Amounts before tax unless labelled.",
            SMALL,
        )
    )

    acceptance = quote.acceptance
    signed = acceptance is not None and quote.status is QuoteStatus.ACCEPTED
    signature = [
        Paragraph("Acceptance", _HEADING),
        _text(f"Name: {acceptance.signer_name if signed and acceptance else '_' * 40}"),
        _text(f"E-mail: {acceptance.signer_email if signed and acceptance else '_' * 40}"),
        _text(f"Date: {_date(acceptance.accepted_at) if signed and acceptance else '_' * 20}"),
        _text(f"Signature: {'accepted electronically' if signed else '_' * 40}"),
    ]
    story.append(KeepTogether(signature))
    buffer = io.BytesIO()
    document = a4_document(buffer, title=f"Quote {quote.number}", author=issuer)
    document.build(story)
    return buffer.getvalue()
