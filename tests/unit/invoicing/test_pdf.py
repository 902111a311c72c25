import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pypdf import PdfReader

from tally.invoicing.documents.pdf import render_credit_note, render_invoice
from tally.invoicing.documents.views import (
    CreditNoteView,
    InvoiceView,
    LineView,
    Party,
    TierRow,
    format_money,
    format_unit_price,
)
from tally.money import Money

D = Decimal
START, END = datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)
ISSUER = Party("Tally Billing Ltd", ("1 Ledger Lane", "London EC1A 1AA"), tax_id="GB123456789")
CUSTOMER = Party("Acme Corp", ("2 Side Street", "Springfield"), tax_id="US98-7654321")


def usd(amount):
    return Money(D(amount), "USD")


def invoice(lines, customer=CUSTOMER, currency="USD", total="0", number="INV-2026-000123"):
    money = Money(D(total), currency)
    zero = Money(D(0), currency)
    return InvoiceView(
        number=number,
        issuer=ISSUER,
        customer=customer,
        issue_date=date(2026, 7, 1),
        due_date=date(2026, 7, 31),
        period_start=START,
        period_end=END,
        lines=tuple(lines),
        subtotal=money,
        tax=zero,
        credits_applied=zero,
        total=money,
        amount_due=money,
        payment_terms="Payment due within 30 days by bank transfer.",
    )


def pages(pdf):
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def flat(text):
    return " ".join(text.split())


@pytest.mark.parametrize(
    ("amount", "currency", "printed"),
    [
        ("1234.5", "USD", "$1,234.50"),
        ("12345.6", "JPY", "¥12,346"),
        ("1234.5", "EUR", "€1,234.50"),
        ("1234.567", "BHD", "1,234.567 BHD"),
        ("-100", "USD", "-$100.00"),
        ("0.005", "USD", "$0.01"),
    ],
)
def test_money_is_written_per_currency(amount, currency, printed):
    assert format_money(Money(D(amount), currency)) == printed


def test_unit_prices_keep_their_precision():
    assert format_unit_price(D("0.0004"), "USD") == "$0.0004"
    assert format_unit_price(D("8"), "USD") == "$8.00"


def test_an_invoice_shows_its_number_parties_lines_tiers_and_totals():
    view = InvoiceView(
        number="INV-2026-000123",
        issuer=ISSUER,
        customer=CUSTOMER,
        issue_date=date(2026, 7, 1),
        due_date=date(2026, 7, 31),
        period_start=START,
        period_end=END,
        lines=(
            LineView("Platform fee", usd("49.00"), D(1), D("49.00"), START, END),
            LineView(
                "Seats",
                usd("102.00"),
                D(12),
                None,
                START,
                END,
                (
                    TierRow("Tier 1", D(5), D("10.00"), D("50.00")),
                    TierRow("Tier 2", D(5), D("8.00"), D("40.00")),
                    TierRow("Tier 3", D(2), D("6.00"), D("12.00")),
                ),
            ),
        ),
        subtotal=usd("151.00"),
        tax=usd("30.20"),
        credits_applied=usd("50.00"),
        total=usd("181.20"),
        amount_due=usd("131.20"),
        payment_terms="Payment due within 30 days by bank transfer.",
        tax_label="VAT 20 %",
    )
    (text,) = pages(render_invoice(view))

    text = flat(text)
    for expected in (
        "INV-2026-000123",
        "Tally Billing Ltd",
        "Acme Corp",
        "2 Side Street",
        "Tax ID: US98-7654321",
        "1 Jul 2026",
        "31 Jul 2026",
        "1 Jun 2026 – 30 Jun 2026",
        "Platform fee",
        "$49.00",
        "Seats",
        "$102.00",
        "Tier 2",
        "$8.00",
        "$40.00",
        "Subtotal $151.00",
        "VAT 20 % $30.20",
        "Total $181.20",
        "Prepaid credits applied -$50.00",
        "Amount due $131.20",
        "Payment due within 30 days",
        "Page 1 of 1",
    ):
        assert expected in text, expected


def test_a_jpy_invoice_prints_whole_yen():
    view = invoice(
        [LineView("API calls", Money(D(5), "JPY"), D(12_345), D("0.0004"))], currency="JPY", total="5"
    )
    text = flat(pages(render_invoice(view))[0])
    assert "API calls 12,345 ¥0.0004 ¥5" in text
    assert "Amount due ¥5" in text


def test_a_300_line_invoice_spans_pages_with_every_line_once_and_page_numbers():
    lines = [
        LineView(f"Usage charge {n:03d}", usd(f"{n}.25"), D(n), D("1.25"), START, END) for n in range(300)
    ]
    texts = pages(render_invoice(invoice(lines, total="45075.00")))

    assert len(texts) > 3
    for number, text in enumerate(texts, start=1):
        assert f"Page {number} of {len(texts)}" in text
        assert "Description" in text  # the table header repeats on every page
    found = re.findall(r"Usage charge (\d{3})", "\n".join(texts))
    assert sorted(found) == [f"{n:03d}" for n in range(300)]
    everything = flat("\n".join(texts))
    assert "$299.25" in everything
    assert "Amount due $45,075.00" in everything


def test_a_200_character_customer_name_wraps_and_is_printed_whole():
    name = " ".join(["Internationale Handelsgesellschaft"] * 6)[:200]
    assert len(name) == 200
    pdf = render_invoice(invoice([LineView("Platform fee", usd("49.00"))], customer=Party(name)))

    (text,) = pages(pdf)
    assert flat(name) in flat(text)
    assert name not in text  # not on one line: it was wrapped to fit its column


def test_a_credit_note_names_the_invoice_it_credits_and_the_total():
    view = CreditNoteView(
        number="CN-2026-000007",
        invoice_number="INV-2026-000123",
        issuer=ISSUER,
        customer=CUSTOMER,
        issue_date=date(2026, 7, 9),
        reason="Usage corrected: duplicate events removed",
        lines=(LineView("API calls", usd("12.40"), D(124), D("0.10"), START, END),),
        subtotal=usd("12.40"),
        tax=usd("2.48"),
        total=usd("14.88"),
    )
    text = flat(pages(render_credit_note(view))[0])
    for expected in (
        "CN-2026-000007",
        "INV-2026-000123",
        "duplicate events removed",
        "$12.40",
        "Total credited $14.88",
    ):
        assert expected in text, expected


def test_twenty_invoices_render():
    lines = [LineView(f"Charge {n}", usd("10.00"), D(4), D("2.50"), START, END) for n in range(30)]
    for n in range(20):
        assert render_invoice(invoice(lines, total="300.00", number=f"INV-2026-{n:06d}")).startswith(b"%PDF")
