import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal

from pypdf import PdfReader

from tally.invoicing.documents.pdf import render_credit_note, render_invoice
from tally.invoicing.documents.views import CreditNoteView, InvoiceView, LineView, Party, TierRow, TotalRow
from tally.money import Money

D = Decimal
START, END = datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)
ISSUER = Party("Tally Billing Ltd", ("1 Ledger Lane", "London EC1A 1AA"), tax_id="GB123456789")
CUSTOMER = Party("Acme Corp", ("2 Side Street", "Springfield"), tax_id="US98-7654321")


def usd(amount):
    return Money(D(amount), "USD")


def invoice(lines, customer=CUSTOMER, currency="USD", total="0", number="INV-2026-000123", locale="en_US"):
    money = Money(D(total), currency)
    return InvoiceView(
        number=number,
        issuer=ISSUER,
        customer=customer,
        issue_date=date(2026, 7, 1),
        due_date=date(2026, 7, 31),
        period_start=START,
        period_end=END,
        lines=tuple(lines),
        totals=(
            TotalRow("Subtotal", money),
            TotalRow("Total", money),
            TotalRow("Amount due", money, strong=True),
        ),
        payment_terms="Payment due within 30 days by bank transfer.",
        locale=locale,
    )


def pages(pdf):
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def flat(text):
    return " ".join(text.split())


def test_an_invoice_shows_its_number_parties_references_lines_tiers_totals_notes_and_remittance():
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
                    TierRow("Tier 1: 0 – 5", D(5), D("10.00"), usd("50.00")),
                    TierRow("Tier 2: over 5 – 10", D(5), D("8.00"), usd("40.00")),
                    TierRow("Tier 3: over 10", D(2), D("6.00"), usd("12.00")),
                ),
            ),
        ),
        totals=(
            TotalRow("Subtotal", usd("151.00")),
            TotalRow("VAT 20% (United Kingdom) on USD 151.00", usd("30.20")),
            TotalRow("Total", usd("181.20")),
            TotalRow("Prepaid credit applied", usd("-50.00")),
            TotalRow("Amount due", usd("131.20"), strong=True),
        ),
        payment_terms="Payment due within 30 days by bank transfer.",
        locale="en_GB",
        references=(("Purchase order", "PO-4471"),),
        notes=("Reverse charge: no tax is charged; the customer accounts for it.",),
        remittance=("Barclays, sort code 20-00-00", "IBAN GB29 NWBK 6016 1331 9268 19"),
    )
    (text,) = pages(render_invoice(view))

    text = flat(text)
    for expected in (
        "INV-2026-000123",
        "Tally Billing Ltd",
        "Acme Corp",
        "2 Side Street",
        "Tax ID: US98-7654321",
        "Purchase order PO-4471",
        "1 Jul 2026",
        "31 Jul 2026",
        "1 Jun 2026 – 30 Jun 2026",
        "Platform fee",
        "US$49.00",
        "Seats 1 Jun 2026 – 30 Jun 2026 12 US$102.00",
        "Tier 2: over 5 – 10 5 US$8.00 US$40.00",
        "Subtotal US$151.00",
        "VAT 20% (United Kingdom) on USD 151.00 US$30.20",
        "Total US$181.20",
        "Prepaid credit applied -US$50.00",
        "Amount due US$131.20",
        "Reverse charge: no tax is charged",
        "Payment due within 30 days",
        "How to pay Barclays, sort code 20-00-00 IBAN GB29 NWBK 6016 1331 9268 19",
        "Page 1 of 1",
    ):
        assert expected in text, expected


def test_a_jpy_invoice_prints_whole_yen_with_its_code_and_a_chf_one_in_swiss_style():
    view = invoice(
        [LineView("API calls", Money(D(5), "JPY"), D(12_345), D("0.0004"))],
        currency="JPY",
        total="5",
        locale="ja_JP",
    )
    text = flat(pages(render_invoice(view))[0])
    assert "API calls 12,345 JPY 0.0004 JPY 5" in text
    assert "Amount due JPY 5" in text
    swiss = invoice(
        [LineView("API calls", Money(D("1234.50"), "CHF"), D(12_345), D("0.1"))],
        currency="CHF",
        total="1234.50",
        locale="de_CH",
    )
    text = flat(pages(render_invoice(swiss))[0])
    assert "API calls 12'345 CHF 0.10 CHF 1'234.50" in text


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
    assert "USD 299.25" in everything
    assert "Amount due USD 45,075.00" in everything


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
        totals=(
            TotalRow("Subtotal credited", usd("12.40")),
            TotalRow("Tax credited", usd("2.48")),
            TotalRow("Total credited", usd("14.88"), strong=True),
            TotalRow("Applied to invoice INV-2026-000123", usd("4.88")),
            TotalRow("Added to your credit balance", usd("10.00")),
        ),
        locale="en_US",
    )
    text = flat(pages(render_credit_note(view))[0])
    for expected in (
        "CN-2026-000007",
        "INV-2026-000123",
        "duplicate events removed",
        "USD 12.40",
        "Total credited USD 14.88",
        "Applied to invoice INV-2026-000123 USD 4.88",
        "Added to your credit balance USD 10.00",
    ):
        assert expected in text, expected


def test_twenty_invoices_render():
    lines = [LineView(f"Charge {n}", usd("10.00"), D(4), D("2.50"), START, END) for n in range(30)]
    for n in range(20):
        assert render_invoice(invoice(lines, total="300.00", number=f"INV-2026-{n:06d}")).startswith(b"%PDF")
