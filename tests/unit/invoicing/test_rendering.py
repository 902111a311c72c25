import io
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

from pypdf import PdfReader

from tally.invoicing.credit_notes.domain import CreditNote, CreditNoteLine, CreditNoteReason
from tally.invoicing.documents.pdf import render_credit_note, render_invoice
from tally.invoicing.documents.rendering import (
    credit_note_filename,
    credit_note_view,
    invoice_filename,
    invoice_view,
)
from tally.invoicing.documents.views import LineView, Party, TierRow
from tally.invoicing.domain import CustomerSnapshot, Invoice, InvoiceLine, InvoiceStatus, LineKind, Period
from tally.money import Money
from tally.pricing import BreakdownLine

D = Decimal
PERIOD = Period(datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC))
ISSUED = datetime(2026, 5, 1, 0, 5, tzinfo=UTC)
ISSUER = Party("Tally Demo Ltd", ("1 Ledger Lane", "London"), tax_id="GB123", email="billing@tally.test")


def eur(amount):
    return Money(D(amount), "EUR")


API = InvoiceLine(
    id="l1",
    position=1,
    kind=LineKind.USAGE,
    description="API calls",
    amount=eur("102.00"),
    tax=eur("19.38"),
    quantity=D("12"),
    tax_rate_percent=D("19"),
    service_period=PERIOD,
    breakdown=(
        BreakdownLine("Tier 1", 1, D("5"), D("10"), D("0"), D("50")),
        BreakdownLine("Tier 2", 2, D("7"), D("8"), D("0"), D("56")),
    ),
    group=(("region", "eu"),),
)
LATE = InvoiceLine(
    id="l2",
    position=2,
    kind=LineKind.ADJUSTMENT,
    description="Late usage for INV-2026-000001",
    amount=eur("10.00"),
    tax=eur("1.90"),
    tax_rate_percent=D("19"),
    event_ids=("ev-1", "ev-2"),
    corrects_invoice_id="inv-0",
)
PREPAID = InvoiceLine(
    id="l3",
    position=3,
    kind=LineKind.CREDIT,
    description="Prepaid credit (grant-1)",
    amount=eur("-20.00"),
    tax=eur("0"),
)

INVOICE = Invoice(
    id="inv-1",
    number="INV-2026-000007",
    customer_id="cus_acme",
    subscription_id="sub_1",
    status=InvoiceStatus.FINALIZED,
    currency="EUR",
    period=PERIOD,
    subtotal=eur("112.00"),
    tax=eur("21.28"),
    credits_applied=eur("20.00"),
    total=eur("133.28"),
    amount_due=eur("113.28"),
    created_at=datetime(2026, 4, 30, 23, 0, tzinfo=UTC),
    issued_at=ISSUED,
    due_at=datetime(2026, 5, 15, 0, 5, tzinfo=UTC),
    lines=(API, LATE, PREPAID),
    customer=CustomerSnapshot("Acme Corp", "ap@acme.test", ("2 Side Street", "Springfield"), "US98"),
)


def text(pdf):
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())


def test_an_invoice_prints_its_customer_lines_tiers_and_totals_without_prepaid_credit_lines():
    view = invoice_view(INVOICE, ISSUER)
    assert (view.number, view.issue_date, view.due_date, view.draft) == (
        "INV-2026-000007",
        date(2026, 5, 1),
        date(2026, 5, 15),
        False,
    )
    assert view.customer == Party("Acme Corp", ("2 Side Street", "Springfield"), "US98", "ap@acme.test")
    assert view.lines == (
        LineView(
            "API calls (region: eu)",
            eur("102.00"),
            D("12"),
            None,
            PERIOD.start,
            PERIOD.end,
            (TierRow("Tier 1", D("5"), D("10"), D("50")), TierRow("Tier 2", D("7"), D("8"), D("56"))),
        ),
        LineView("Late usage for INV-2026-000001, correcting 2 usage events", eur("10.00")),
    )
    assert (view.subtotal, view.tax, view.credits_applied, view.total, view.amount_due) == (
        eur("112.00"),
        eur("21.28"),
        eur("20.00"),
        eur("133.28"),
        eur("113.28"),
    )
    assert view.tax_label == "Tax 19 %"
    assert view.payment_terms == "Payment due within 14 days of the issue date, by 15 May 2026."
    assert invoice_filename(INVOICE) == "INV-2026-000007.pdf"

    printed = text(render_invoice(view))
    for expected in (
        "INVOICE",
        "INV-2026-000007",
        "Tally Demo Ltd",
        "Acme Corp",
        "API calls (region: eu)",
        "Tier 2",
        "€102.00",
        "€10.00",
        "Tax 19 % €21.28",
        "Prepaid credits applied -€20.00",
        "Amount due €113.28",
    ):
        assert expected in printed
    assert "Prepaid credit (grant-1)" not in printed


def test_a_draft_is_marked_draft_and_has_no_number_or_due_date():
    draft = replace(
        INVOICE, number=None, status=InvoiceStatus.DRAFT, issued_at=None, due_at=None, customer=None
    )
    view = invoice_view(draft, ISSUER)
    assert (view.number, view.draft, view.due_date, view.issue_date) == ("", True, None, date(2026, 4, 30))
    assert view.customer == Party("cus_acme")
    assert invoice_filename(draft) == "draft-inv-1.pdf"
    printed = text(render_invoice(view))
    assert "DRAFT INVOICE" in printed
    assert "not payable" in printed
    assert "INV-" not in printed.replace("INV-2026-000001", "")


def test_a_void_invoice_is_marked_void():
    void = replace(INVOICE, status=InvoiceStatus.VOID, voided_at=datetime(2026, 5, 3, tzinfo=UTC))
    view = invoice_view(void, ISSUER)
    assert view.voided_date == date(2026, 5, 3)
    assert "VOID since 3 May 2026" in text(render_invoice(view))


def test_mixed_tax_rates_print_a_plain_tax_label():
    mixed = replace(INVOICE, lines=(API, replace(LATE, tax_rate_percent=D("7"))))
    assert invoice_view(mixed, ISSUER).tax_label == "Tax"


def test_a_credit_note_prints_its_reason_memo_lines_and_totals():
    note = CreditNote(
        id="cn-1",
        number="CN-2026-000003",
        invoice_id="inv-1",
        invoice_number="INV-2026-000007",
        customer_id="cus_acme",
        currency="EUR",
        reason=CreditNoteReason.INVOICE_VOIDED,
        memo="Duplicate charge",
        lines=(
            CreditNoteLine("cn-1-1", 1, "l1", "API calls", eur("102.00"), eur("19.38"), D("12")),
            CreditNoteLine("cn-1-2", 2, "l2", "Late usage", eur("10.00"), eur("1.90")),
        ),
        subtotal=eur("112.00"),
        tax=eur("21.28"),
        total=eur("133.28"),
        issued_at=datetime(2026, 5, 3, 9, 0, tzinfo=UTC),
    )
    view = credit_note_view(note, INVOICE, ISSUER)
    assert view.reason == "Invoice voided: Duplicate charge"
    assert view.lines[0] == LineView("API calls", eur("102.00"), D("12"), None, PERIOD.start, PERIOD.end)
    assert view.lines[1] == LineView("Late usage", eur("10.00"))
    assert (view.number, view.invoice_number, view.issue_date) == (
        "CN-2026-000003",
        "INV-2026-000007",
        date(2026, 5, 3),
    )
    assert credit_note_filename(note) == "CN-2026-000003.pdf"
    printed = text(render_credit_note(view))
    for expected in (
        "CREDIT NOTE",
        "CN-2026-000003",
        "INV-2026-000007",
        "Invoice voided: Duplicate charge",
        "€102.00",
        "€10.00",
        "Total credited €133.28",
    ):
        assert expected in printed
    assert credit_note_view(replace(note, memo=""), INVOICE, ISSUER).reason == "Invoice voided"
