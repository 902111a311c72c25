"""Invoice, credit note and statement PDFs (reportlab platypus): one page or many, "Page n of m", long text wrapped,
the issuer's logo at the top, every amount and date in the document's locale."""

from __future__ import annotations

import io
from functools import partial
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Image, Paragraph, Spacer, Table, TableStyle

from tally.invoicing.documents.views import (
    CreditNoteView,
    InvoiceView,
    LineView,
    Party,
    StatementView,
    TotalRow,
    format_date,
    format_span,
)
from tally.money.formatting import format_money, format_number, format_price
from tally.pdf_style import BAND, BASE, BOLD, INK, MARGIN, MUTED, RULE, SMALL, TITLE, WIDTH, a4_document

__all__ = ["render_credit_note", "render_invoice", "render_statement"]

# Description, service period, quantity, unit price, amount: numbers get what their widest values need.
COLUMNS = (WIDTH * 0.35, WIDTH * 0.24, WIDTH * 0.11, WIDTH * 0.13, WIDTH * 0.17)
LOGO_HEIGHT = 14 * mm
LOGO_MAX_WIDTH = 60 * mm

_SUB = ParagraphStyle("sub", parent=SMALL, leftIndent=8)
_RIGHT = ParagraphStyle("right", parent=BASE, alignment=TA_RIGHT)
_RIGHT_BOLD = ParagraphStyle("right_bold", parent=BOLD, alignment=TA_RIGHT)
_HEAD = ParagraphStyle("head", parent=BOLD, fontSize=8, leading=10, textColor=MUTED)
_HEAD_RIGHT = ParagraphStyle("head_right", parent=_HEAD, alignment=TA_RIGHT)


class _NumberedCanvas(Canvas):
    """Holds every page back until the end, so each footer can say how many pages there are."""

    def __init__(self, *args: Any, footer: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._footer = footer
        self._held: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._held.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        pages = len(self._held)
        for number, state in enumerate(self._held, start=1):
            self.__dict__.update(state)
            self.setFont("Helvetica", 8)
            self.setFillColor(MUTED)
            self.drawString(MARGIN, 10 * mm, self._footer)
            self.drawRightString(A4[0] - MARGIN, 10 * mm, f"Page {number} of {pages}")
            super().showPage()
        super().save()


def _p(text: str, style: ParagraphStyle = BASE) -> Paragraph:
    return Paragraph(escape(text), style)


_CELL_PADDING = 12  # a Table cell's default left + right padding


def _cell(text: str, style: ParagraphStyle, width: float) -> Flowable | str:
    """A Paragraph only when the text must wrap: a plain string costs a fraction to lay out and draw (the
    table's FONT and TEXTCOLOR commands must then give it ``style``'s look)."""
    room = width - _CELL_PADDING - style.leftIndent
    if "\n" not in text and stringWidth(text, style.fontName, style.fontSize) <= room:
        return text
    return _p(text, style)


def _party(party: Party, heading: str) -> list[Flowable]:
    rows: list[Flowable] = [_p(heading, _HEAD), _p(party.name, BOLD)]
    rows.extend(_p(line) for line in party.address_lines)
    if party.tax_id:
        rows.append(_p(f"Tax ID: {party.tax_id}"))
    if party.registration_id:
        rows.append(_p(f"Registration: {party.registration_id}"))
    if party.email:
        rows.append(_p(party.email))
    return rows


def _logo(logo: bytes) -> list[Flowable]:
    """The issuer's logo, scaled to a fixed height (and a maximum width); nothing when there is none."""
    if not logo:
        return []
    width, height = ImageReader(io.BytesIO(logo)).getSize()
    scale = min(LOGO_HEIGHT / height, LOGO_MAX_WIDTH / width)
    image = Image(io.BytesIO(logo), width=width * scale, height=height * scale)
    image.hAlign = "LEFT"
    return [image, Spacer(1, 3 * mm)]


def _facts(title: str, facts: list[tuple[str, str]]) -> list[Flowable]:
    block: list[Flowable] = [_p(title, TITLE), Spacer(1, 4)]
    table = Table(
        [[_p(label, _HEAD_RIGHT), _p(value, _RIGHT)] for label, value in facts],
        colWidths=(WIDTH * 0.22, WIDTH * 0.26),
    )
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("TOPPADDING", (0, 0), (-1, -1), 1)]))
    block.append(table)
    return block


def _header(
    issuer: Party, customer: Party, title: str, facts: list[tuple[str, str]], logo: bytes = b""
) -> list[Flowable]:
    top = Table(
        [[[*_logo(logo), *_party(issuer, "From")], _facts(title, facts)]],
        colWidths=(WIDTH * 0.5, WIDTH * 0.5),
    )
    top.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    bill_to = Table([[_party(customer, "Bill to")]], colWidths=(WIDTH * 0.6,), hAlign="LEFT")
    bill_to.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return [top, Spacer(1, 8 * mm), bill_to, Spacer(1, 6 * mm)]


def _lines_table(lines: tuple[LineView, ...], currency: str, locale: str) -> Table:
    # Only descriptions can be long, so only they are Paragraphs (which wrap); the other cells are plain
    # strings sized to their columns, which costs a fraction of a Paragraph each.
    rows: list[list[Flowable | str]] = [["Description", "Service period", "Quantity", "Unit price", "Amount"]]
    sub_rows: list[int] = []
    for line in lines:
        span = (
            format_span(line.service_start, line.service_end, locale)
            if line.service_start is not None and line.service_end is not None
            else ""
        )
        rows.append(
            [
                _cell(line.description, BASE, COLUMNS[0]),
                span,
                "" if line.quantity is None else format_number(line.quantity, locale),
                "" if line.unit_price is None else format_price(line.unit_price, currency, locale),
                format_money(line.amount, locale),
            ]
        )
        for tier in line.tiers:
            sub_rows.append(len(rows))
            rows.append(
                [
                    _cell(tier.description, _SUB, COLUMNS[0]),
                    "",
                    "" if tier.units is None else format_number(tier.units, locale),
                    "" if tier.unit_price is None else format_price(tier.unit_price, currency, locale),
                    # Exact in the breakdown; printed at the currency's precision beside the billed line.
                    format_money(tier.amount, locale),
                ]
            )
    table = Table(rows, colWidths=COLUMNS, repeatRows=1)
    style: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("FONT", (0, 0), (-1, -1), "Helvetica", 9, 11.5),
        ("TEXTCOLOR", (0, 0), (-1, -1), INK),
        ("FONT", (1, 0), (1, -1), "Helvetica", 8, 10),
        ("TEXTCOLOR", (1, 0), (1, -1), MUTED),
        ("ALIGN", (2, 0), (-1, -1), "RIGHT"),
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8, 10),
        ("TEXTCOLOR", (0, 0), (-1, 0), MUTED),
        ("BACKGROUND", (0, 0), (-1, 0), BAND),
        ("LINEBELOW", (0, 0), (-1, 0), 0.75, RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    # A rule above every charge line, none between a line and its own sub-rows, which print small and muted.
    explained = set(sub_rows)
    for row in range(2, len(rows)):
        if row in explained:
            style.append(("FONT", (0, row), (-1, row), "Helvetica", 8, 10))
            style.append(("FONT", (1, row), (1, row), "Helvetica", 8, 10))
            style.append(("TEXTCOLOR", (0, row), (-1, row), MUTED))
            style.append(("TOPPADDING", (0, row), (-1, row), 0))
            style.append(("LEFTPADDING", (0, row), (0, row), 6 + _SUB.leftIndent))
        else:
            style.append(("LINEABOVE", (0, row), (-1, row), 0.25, RULE))
    table.setStyle(TableStyle(style))
    return table


def _totals(rows: tuple[TotalRow, ...], locale: str) -> Table:
    widths = (WIDTH * 0.42, WIDTH * 0.2)
    data = [
        [
            _cell(row.label, _RIGHT_BOLD if row.strong else _RIGHT, widths[0]),
            _cell(format_money(row.amount, locale), _RIGHT_BOLD if row.strong else _RIGHT, widths[1]),
        ]
        for row in rows
    ]
    table = Table(data, colWidths=widths, hAlign="RIGHT")
    style: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), "Helvetica", 9, 11.5),
        ("TEXTCOLOR", (0, 0), (-1, -1), INK),
        ("ALIGN", (0, 0), (-1, -1), "RIGHT"),
        ("LINEABOVE", (0, 0), (-1, 0), 0.75, RULE),
    ]
    for index, row in enumerate(rows):
        if row.strong:
            style.append(("FONT", (0, index), (-1, index), "Helvetica-Bold", 9, 11.5))
            style.append(("LINEABOVE", (0, index), (-1, index), 0.75, INK))
            style.append(("BACKGROUND", (0, index), (-1, index), BAND))
    table.setStyle(TableStyle(style))
    return table


def _texts(heading: str, lines: tuple[str, ...]) -> list[Flowable]:
    if not lines:
        return []
    return [Spacer(1, 4 * mm), _p(heading, _HEAD), *(_p(line) for line in lines)]


def _build(story: list[Flowable], title: str, footer: str) -> bytes:
    buffer = io.BytesIO()
    document = a4_document(buffer, title=title, author="Tally")
    document.build(story, canvasmaker=partial(_NumberedCanvas, footer=footer))
    return buffer.getvalue()


def render_invoice(view: InvoiceView) -> bytes:
    """The invoice as a PDF: issuer (with its logo) and customer, dates and references, lines with their breakdown,
    totals with tax per rate on its base, notes, payment terms and remittance details.

    A draft is titled DRAFT INVOICE and has no number or due date; a voided invoice is marked VOID.
    """
    locale = view.locale
    if view.draft:
        title, name = "DRAFT INVOICE", "Draft invoice"
        facts = [("Status", "DRAFT, not yet issued"), ("Drafted", format_date(view.issue_date, locale))]
    else:
        title, name = "INVOICE", f"Invoice {view.number}"
        facts = [("Invoice number", view.number), ("Issue date", format_date(view.issue_date, locale))]
        if view.due_date is not None:
            facts.append(("Due date", format_date(view.due_date, locale)))
    if view.status:
        facts.append(("Status", view.status))
    if view.voided_date is not None:
        facts.append(("Status", f"VOID since {format_date(view.voided_date, locale)}"))
    facts.append(("Service period", format_span(view.period_start, view.period_end, locale)))
    facts.extend(view.references)
    story = _header(view.issuer, view.customer, title, facts, view.logo)
    currency = view.totals[0].amount.currency
    story.append(_lines_table(view.lines, currency, locale))
    story.append(Spacer(1, 4 * mm))
    story.append(_totals(view.totals, locale))
    story.extend(_texts("Tax", view.notes))
    story.append(Spacer(1, 8 * mm))
    story.append(_p("Payment terms", _HEAD))
    story.append(_p(view.payment_terms))
    story.extend(_texts("How to pay", view.remittance))
    return _build(story, name, f"{view.issuer.name} · {name}")


def render_credit_note(view: CreditNoteView) -> bytes:
    """The credit note as a PDF: the invoice it credits, why, the lines credited, the total credited and where it
    went (off the invoice, into the customer's credit balance)."""
    locale = view.locale
    facts = [
        ("Credit note number", view.number),
        ("Issue date", format_date(view.issue_date, locale)),
        ("Credits invoice", view.invoice_number),
    ]
    story = _header(view.issuer, view.customer, "CREDIT NOTE", facts, view.logo)
    story.append(_p("Reason", _HEAD))
    story.append(_p(view.reason))
    story.append(Spacer(1, 4 * mm))
    story.append(_lines_table(view.lines, view.totals[0].amount.currency, locale))
    story.append(Spacer(1, 4 * mm))
    story.append(_totals(view.totals, locale))
    return _build(story, f"Credit note {view.number}", f"{view.issuer.name} · Credit note {view.number}")


def render_statement(view: StatementView) -> bytes:
    """The customer's statement as a PDF: open invoices with their age, then per currency the ageing buckets,
    what is owed, the credit held and the net."""
    locale = view.locale
    story = _header(
        view.issuer,
        view.customer,
        "STATEMENT",
        [("Statement date", format_date(view.as_of, locale))],
        view.logo,
    )
    rows: list[list[Flowable | str]] = [["Invoice", "Issued", "Due", "Billed", "Still due", "Age (days)"]]
    for row in view.rows:
        rows.append(
            [
                row.number,
                "" if row.issue_date is None else format_date(row.issue_date, locale),
                "" if row.due_date is None else format_date(row.due_date, locale),
                format_money(row.amount_due, locale),
                format_money(row.remaining, locale),
                f"{row.age_days} ({row.bucket})",
            ]
        )
    if not view.rows:
        rows.append(["Nothing is owed.", "", "", "", "", ""])
    table = Table(
        rows, colWidths=(WIDTH * 0.22, WIDTH * 0.15, WIDTH * 0.15, WIDTH * 0.17, WIDTH * 0.17, WIDTH * 0.14)
    )
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), "Helvetica", 9, 11.5),
                ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8, 10),
                ("TEXTCOLOR", (0, 0), (-1, 0), MUTED),
                ("BACKGROUND", (0, 0), (-1, 0), BAND),
                ("ALIGN", (3, 0), (-1, -1), "RIGHT"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.75, RULE),
            ]
        )
    )
    story.append(table)
    for currency, totals in view.summaries:
        story.append(Spacer(1, 5 * mm))
        story.append(_p(f"Summary in {currency}", _HEAD))
        story.append(_totals(totals, locale))
    story.extend(_texts("How to pay", view.remittance))
    return _build(story, "Statement", f"{view.issuer.name} · Statement {format_date(view.as_of, locale)}")
