"""Stored invoices and credit notes as printed: who issues them, addresses in their country's format, money in the
document's locale with the ISO code where a sign is shared, tier ranges and breakdowns at display precision, tax per
rate on its base with its type and jurisdiction, the minimum commitment explained, references and notes; checked in
the views and in the text of the PDFs."""

import io
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

from PIL import Image
from pypdf import PdfReader

from tally.invoicing.billing.drafting import DraftInputs, draft_invoice, invoice_from_draft
from tally.invoicing.billing.taxes import BilledCustomer
from tally.invoicing.credit_notes.domain import CreditNote, CreditNoteLine, CreditNoteReason
from tally.invoicing.documents.addresses import address_lines
from tally.invoicing.documents.pdf import render_credit_note, render_invoice
from tally.invoicing.documents.rendering import (
    credit_note_filename,
    credit_note_view,
    invoice_filename,
    invoice_view,
)
from tally.invoicing.documents.views import Party
from tally.invoicing.domain import (
    CustomerSnapshot,
    InvoiceStatus,
    Issuer,
    PostalAddress,
    References,
    TaxProfile,
    TaxTreatment,
)
from tally.money import Money
from tally.pricing import Charge, CreditGrant, GraduatedPrice, Period, PlanVersion, Tier

D = Decimal
MARCH = Period(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
ISSUED = datetime(2026, 4, 1, 1, 0, tzinfo=UTC)
DEFAULT_ISSUER = Party("Tally Demo Ltd")
NEW_YORK = PostalAddress("350 5th Ave", "Floor 21", "New York", "NY", "10118", "US")
TOKYO = PostalAddress("1-1-1 Marunouchi", "", "Chiyoda-ku", "Tokyo", "100-0005", "JP")


def usd(amount: str) -> Money:
    return Money(D(amount), "USD")


def logo_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (120, 40), (20, 60, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


US_ENTITY = Issuer(
    "le-us",
    "Tally Billing Inc.",
    PostalAddress("1 Market St", "Suite 300", "San Francisco", "CA", "94105", "US"),
    tax_id="EIN 12-3456789",
    registration_id="DE 7654321",
    email="billing@tally.us",
    remittance=("Pay to Tally Billing Inc., ACH routing 021000021", "Account 000123456789"),
    number_prefix="US",
    locale="en_US",
    payment_terms_days=30,
)
CUSTOMER = CustomerSnapshot(
    "Globex LLC",
    "ap@globex.test",
    NEW_YORK,
    "US-55-1234567",
    "globex",
    tax=TaxProfile("Sales tax", "NY, US"),
)
PLAN = PlanVersion(
    "USD",
    (
        Charge(
            "calls",
            "API calls",
            GraduatedPrice("USD", (Tier(D(1000), D("0.10")), Tier(None, D("0.0035714")))),
        ),
    ),
    minimum_commitment=D(500),
)


def issued_invoice():
    """March for Globex: 15,000 calls under a 500.00 commitment, 8.625 % sales tax, 50.00 of promotional credit
    (before tax) and 20.00 of prepaid credit (after tax)."""
    draft = draft_invoice(
        DraftInputs(
            customer=BilledCustomer("cus_globex", "USD", D("8.625")),
            plan=PLAN,
            period=MARCH,
            active=MARCH,
            usage={"calls": D(15_000)},
            grants=(
                CreditGrant("promo", D("50.00"), None, D(0), before_tax=True, label="Launch promotion"),
                CreditGrant("prepaid", D("20.00"), None, D(1), label="Prepaid credit"),
            ),
        )
    )
    invoice = invoice_from_draft(
        draft,
        invoice_id="inv-1",
        subscription_id="sub-1",
        customer=CUSTOMER,
        status=InvoiceStatus.FINALIZED,
        created_at=ISSUED,
        number="US-INV-2026-000001",
        issued_at=ISSUED,
        due_at=datetime(2026, 5, 1, 1, 0, tzinfo=UTC),
    )
    return replace(
        invoice,
        issuer=US_ENTITY,
        references=References(quote="Q-2026-000007", purchase_order="PO-4471", contract="MSA-2026-03"),
    )


def text(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())


def test_the_us_entitys_invoice_prints_its_issuer_the_customers_us_address_and_exact_amounts():
    invoice = issued_invoice()
    assert (invoice.subtotal, invoice.promotional_credit, invoice.tax, invoice.total) == (
        usd("500.00"),
        usd("50.00"),
        usd("38.82"),
        usd("488.82"),
    )
    assert (invoice.credits_applied, invoice.amount_due) == (usd("20.00"), usd("468.82"))

    view = invoice_view(invoice, DEFAULT_ISSUER, logo_png())
    assert view.issuer == Party(
        "Tally Billing Inc.",
        ("1 Market St", "Suite 300", "SAN FRANCISCO, CA 94105", "UNITED STATES"),
        "EIN 12-3456789",
        "billing@tally.us",
        "DE 7654321",
    )
    assert view.customer.address_lines == ("350 5th Ave", "Floor 21", "NEW YORK, NY 10118", "UNITED STATES")
    assert [tier.description for tier in view.lines[0].tiers] == ["Tier 1: 0 – 1,000", "Tier 2: over 1,000"]
    assert view.references == (
        ("Quote", "Q-2026-000007"),
        ("Purchase order", "PO-4471"),
        ("Contract", "MSA-2026-03"),
    )
    assert [(row.label, row.amount) for row in view.totals] == [
        ("Subtotal", usd("500.00")),
        ("Promotional credit (before tax)", usd("-50.00")),
        ("Sales tax 8.625% (NY, US) on USD\xa0450.00", usd("38.82")),
        ("Total", usd("488.82")),
        ("Prepaid credit applied", usd("-20.00")),
        ("Amount due", usd("468.82")),
    ]

    printed = text(render_invoice(view))
    for expected in (
        "Tally Billing Inc. 1 Market St Suite 300 SAN FRANCISCO, CA 94105 UNITED STATES Tax ID: EIN 12-3456789 "
        "Registration: DE 7654321 billing@tally.us",
        "INVOICE Invoice number US-INV-2026-000001 Issue date Apr 1, 2026 Due date May 1, 2026",
        "Quote Q-2026-000007 Purchase order PO-4471 Contract MSA-2026-03",
        "Globex LLC 350 5th Ave Floor 21 NEW YORK, NY 10118 UNITED STATES Tax ID: US-55-1234567",
        # The quantity and the tier range in one number format; the breakdown at display precision.
        "API calls Mar 1, 2026 – Mar 31, 2026 15,000 USD 150.00",
        "Tier 1: 0 – 1,000 1,000 USD 0.10 USD 100.00",
        "Tier 2: over 1,000 14,000 USD 0.0035714 USD 50.00",
        # The minimum commitment explained: the commitment less what the period billed.
        "Minimum commitment Mar 1, 2026 – Mar 31, 2026 USD 350.00 Commitment USD 500.00 Billed in the period -USD 150.00",
        "Subtotal USD 500.00 Promotional credit (before tax) -USD 50.00 "
        "Sales tax 8.625% (NY, US) on USD 450.00 USD 38.82 Total USD 488.82 "
        "Prepaid credit applied -USD 20.00 Amount due USD 468.82",
        "Payment due within 30 days of the issue date, by May 1, 2026.",
        "How to pay Pay to Tally Billing Inc., ACH routing 021000021 Account 000123456789",
    ):
        assert expected in printed, expected
    assert "49.9996" not in printed and "0 – 1000" not in printed
    assert invoice_filename(invoice) == "US-INV-2026-000001.pdf"


def test_a_japanese_address_prints_in_japans_order_and_jpy_in_whole_yen_with_its_code():
    assert address_lines(TOKYO) == ("1-1-1 Marunouchi", "Chiyoda-ku, TOKYO", "100-0005", "JAPAN")
    customer = replace(
        CUSTOMER, name="Tanaka KK", address=TOKYO, locale="ja_JP", tax=TaxProfile("JCT", "Japan")
    )
    draft = draft_invoice(
        DraftInputs(
            customer=BilledCustomer("cus_tanaka", "JPY", D(10)),
            plan=PlanVersion(
                "JPY", (Charge("calls", "API calls", GraduatedPrice("JPY", (Tier(None, D("0.7")),))),)
            ),
            period=MARCH,
            active=MARCH,
            usage={"calls": D(123_457)},
        )
    )
    invoice = invoice_from_draft(
        draft,
        invoice_id="inv-2",
        subscription_id="sub-2",
        customer=customer,
        status=InvoiceStatus.FINALIZED,
        created_at=ISSUED,
        number="INV-2026-000002",
        issued_at=ISSUED,
        due_at=datetime(2026, 5, 1, tzinfo=UTC),
    )
    printed = text(render_invoice(invoice_view(invoice, DEFAULT_ISSUER)))
    for expected in (
        "Tanaka KK 1-1-1 Marunouchi Chiyoda-ku, TOKYO 100-0005 JAPAN",
        "API calls 2026/03/01 – 2026/03/31 123,457 JPY 86,420",
        "JCT 10% (Japan) on JPY 86,420 JPY 8,642",
        "Amount due JPY 95,062",
    ):
        assert expected in printed, expected


def test_an_exempt_or_reverse_charged_customer_gets_its_note_and_no_tax():
    exempt = replace(
        CUSTOMER, tax=TaxProfile("VAT", "Ireland", TaxTreatment.EXEMPT, "Exempt: charity CHY 1234")
    )
    invoice = replace(issued_invoice(), customer=exempt)
    view = invoice_view(invoice, DEFAULT_ISSUER)
    assert view.notes == ("Exempt: charity CHY 1234",)
    assert "Tax Exempt: charity CHY 1234" in text(render_invoice(view))


def test_a_draft_is_marked_draft_and_has_no_number_or_due_date():
    draft = replace(
        issued_invoice(), number=None, status=InvoiceStatus.DRAFT, issued_at=None, due_at=None, customer=None
    )
    view = invoice_view(draft, DEFAULT_ISSUER)
    assert (view.number, view.draft, view.due_date, view.issue_date) == ("", True, None, date(2026, 4, 1))
    assert view.customer == Party("cus_globex")
    assert invoice_filename(draft) == "draft-inv-1.pdf"
    printed = text(render_invoice(view))
    assert "DRAFT INVOICE" in printed and "not payable" in printed
    assert "US-INV-" not in printed


def test_a_void_invoice_is_marked_void_and_a_partly_paid_one_shows_what_is_still_due():
    void = replace(issued_invoice(), status=InvoiceStatus.VOID, voided_at=datetime(2026, 5, 3, tzinfo=UTC))
    assert "VOID since May 3, 2026" in text(render_invoice(invoice_view(void, DEFAULT_ISSUER)))
    part = replace(
        issued_invoice(), status=InvoiceStatus.PARTIALLY_PAID, credited=D("27.16"), paid=D("200.00")
    )
    printed = text(render_invoice(invoice_view(part, DEFAULT_ISSUER)))
    assert "Status Partially paid" in printed
    assert (
        "Amount due USD 468.82 Credit notes applied -USD 27.16 Payments received -USD 200.00 "
        "Balance due USD 241.66"
    ) in printed


def test_a_credit_note_prints_its_reason_lines_totals_and_where_the_credit_went():
    invoice = issued_invoice()
    usage_line = invoice.lines[0]
    note = CreditNote(
        id="cn-1",
        number="US-CN-2026-000001",
        invoice_id="inv-1",
        invoice_number="US-INV-2026-000001",
        customer_id="cus_globex",
        currency="USD",
        reason=CreditNoteReason.BILLING_ERROR,
        memo="Duplicate events",
        lines=(CreditNoteLine("cn-1-1", 1, usage_line.id, "API calls", usd("100.00"), usd("8.63")),),
        subtotal=usd("100.00"),
        tax=usd("8.63"),
        total=usd("108.63"),
        issued_at=datetime(2026, 4, 3, 9, 0, tzinfo=UTC),
        applied=D("100.00"),
        carried=D("8.63"),
    )
    view = credit_note_view(note, invoice, DEFAULT_ISSUER)
    assert view.issuer.name == "Tally Billing Inc."
    assert credit_note_filename(note) == "US-CN-2026-000001.pdf"
    printed = text(render_credit_note(view))
    for expected in (
        "CREDIT NOTE",
        "Credit note number US-CN-2026-000001",
        "Credits invoice US-INV-2026-000001",
        "Billing error: Duplicate events",
        "API calls Mar 1, 2026 – Mar 31, 2026 USD 100.00",
        "Total credited USD 108.63",
        "Applied to invoice US-INV-2026-000001 USD 100.00",
        "Added to your credit balance USD 8.63",
    ):
        assert expected in printed, expected
