"""Invoices a finance team can send, across real processes (catalog, metering, invoicing):

- two legal entities (UK and US) each invoice their own customers in their own gap-free series, and their PDFs
  show their own details; a US and a Japanese address print in their countries' formats; CHF and JPY amounts
  print correctly;
- a preview on day 7 of a month shows the minimum commitment at the period end, a credit grant made in catalog a
  moment before, and a pending correction of the last invoice; with no further usage, the preview on the last day
  equals the invoice finalized after it, to the cent.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from PIL import Image
from pypdf import PdfReader
from test_invoicing_billing import (  # noqa: F401 - the stack fixture
    APRIL,
    MARCH,
    invoices_of,
    make_catalog,
    make_meter,
    run_billing,
    send_calls,
    send_late_call,
    stack,
    stamp,
    subscribe,
    wait_for_usage,
)

from tally.api.catalog.v1 import catalog_service_pb2 as cat
from tally.api.catalog.v1 import catalog_service_pb2_grpc as cat_grpc
from tally.api.common.v1 import money_pb2
from tally.api.invoicing.v1 import invoicing_service_pb2 as pb
from tally.api.invoicing.v1 import invoicing_service_pb2_grpc as pb_grpc

MAY = datetime(2026, 5, 1, tzinfo=UTC)


@pytest.fixture
def services(request):
    """Catalog, metering and invoicing as the billing tests run them."""
    return request.getfixturevalue("stack")


def logo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (90, 30), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def pdf_text(data: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


def entity(stub, md, **fields) -> cat.LegalEntity:
    return stub.CreateLegalEntity(
        cat.CreateLegalEntityRequest(legal_entity=cat.LegalEntity(**fields)), metadata=md
    ).legal_entity


def fee_plan(stub, md, product_id, currency, amount) -> str:
    plan_id = stub.CreatePlan(
        cat.CreatePlanRequest(plan=cat.Plan(name=f"Fee {currency}")), metadata=md
    ).plan.id
    return stub.PublishPlanVersion(
        cat.PublishPlanVersionRequest(
            plan_version=cat.PlanVersion(
                plan_id=plan_id,
                currency=currency,
                charges=[
                    cat.Charge(
                        id="platform",
                        name="Platform fee",
                        price=cat.Price(
                            currency=currency,
                            product_id=product_id,
                            flat=cat.FlatPrice(amount=amount, timing=cat.BILLING_TIMING_IN_ARREARS),
                        ),
                    )
                ],
            )
        ),
        metadata=md,
    ).plan_version.id


def customer(stub, md, **fields) -> cat.Customer:
    return stub.CreateCustomer(
        cat.CreateCustomerRequest(customer=cat.Customer(**fields)), metadata=md
    ).customer


def test_two_entities_invoice_in_their_own_series_with_their_own_details_and_formats(services, database_url):
    catalog, _, invoicing = services
    md = catalog.metadata()
    with grpc.insecure_channel(catalog.target) as channel:
        stub = cat_grpc.CatalogServiceStub(channel)
        uk = entity(
            stub,
            md,
            legal_name="Tally Billing UK Ltd",
            address=cat.Address(line1="1 Ledger Lane", city="London", postal_code="EC1A 1AA", country="GB"),
            tax_id="GB 123 4567 89",
            registration_id="Companies House 01234567",
            email="billing@tally.co.uk",
            remittance_lines=["Barclays, sort code 20-00-00", "IBAN GB29 NWBK 6016 1331 9268 19"],
            logo=logo(),
            number_prefix="UK",
            payment_terms_days=14,
            locale="en_GB",
        )
        us = entity(
            stub,
            md,
            legal_name="Tally Billing Inc.",
            address=cat.Address(
                line1="1 Market St",
                line2="Suite 300",
                city="San Francisco",
                region="CA",
                postal_code="94105",
                country="US",
            ),
            tax_id="EIN 12-3456789",
            remittance_lines=["ACH routing 021000021, account 000123456789"],
            number_prefix="US",
            payment_terms_days=30,
            locale="en_US",
        )
        product = stub.CreateProduct(
            cat.CreateProductRequest(product=cat.Product(name="Platform")), metadata=md
        )
        product_id = product.product.id
        plans = {
            "USD": fee_plan(stub, md, product_id, "USD", "500.00"),
            "JPY": fee_plan(stub, md, product_id, "JPY", "123457"),
            "CHF": fee_plan(stub, md, product_id, "CHF", "1234.50"),
        }
        acme = customer(
            stub,
            md,
            external_id="acme",
            name="Acme Corp",
            currency="USD",
            email="ap@acme.test",
            tax_rate_percent="8.625",
            tax_name="Sales tax",
            billing_address=cat.Address(
                line1="350 5th Ave", city="New York", region="NY", postal_code="10118", country="US"
            ),
            legal_entity_id=us.id,
        )
        tanaka = customer(
            stub,
            md,
            external_id="tanaka",
            name="Tanaka KK",
            currency="JPY",
            tax_rate_percent="10",
            tax_name="JCT",
            tax_jurisdiction="Japan",
            locale="ja_JP",
            billing_address=cat.Address(
                line1="1-1-1 Marunouchi",
                city="Chiyoda-ku",
                region="Tokyo",
                postal_code="100-0005",
                country="JP",
            ),
            legal_entity_id=uk.id,
        )
        helvetia = customer(
            stub,
            md,
            external_id="helvetia",
            name="Helvetia AG",
            currency="CHF",
            tax_id="CHE-123.456.789",
            reverse_charge=True,
            tax_name="VAT",
            locale="de_CH",
            billing_address=cat.Address(
                line1="Bahnhofstrasse 1", city="Zürich", postal_code="8001", country="CH"
            ),
            legal_entity_id=uk.id,
        )
        refused = None
        try:
            entity(stub, md, legal_name="Duplicate", number_prefix="UK")
        except grpc.RpcError as exc:
            refused = exc
        assert refused is not None and refused.code() == grpc.StatusCode.ALREADY_EXISTS
    subscriptions = {
        name: subscribe(catalog, party.id, plans[party.currency]).id
        for name, party in (("acme", acme), ("tanaka", tanaka), ("helvetia", helvetia))
    }

    run_billing(invoicing, APRIL + timedelta(hours=2))
    [acme_invoice] = invoices_of(invoicing, subscriptions["acme"])
    [tanaka_invoice] = invoices_of(invoicing, subscriptions["tanaka"])
    [helvetia_invoice] = invoices_of(invoicing, subscriptions["helvetia"])
    # Each entity numbers in its own series, gap-free.
    assert acme_invoice.number.startswith("US-INV-") and acme_invoice.number.endswith("-000001")
    assert sorted([tanaka_invoice.number[-6:], helvetia_invoice.number[-6:]]) == ["000001", "000002"]
    assert {tanaka_invoice.number[:7], helvetia_invoice.number[:7]} == {"UK-INV-"}
    assert (acme_invoice.issuer.legal_entity_id, tanaka_invoice.issuer.legal_name) == (
        us.id,
        "Tally Billing UK Ltd",
    )
    # Each entity's payment terms.
    assert (acme_invoice.due_at.seconds - acme_invoice.issued_at.seconds) // 86400 == 30
    assert (tanaka_invoice.due_at.seconds - tanaka_invoice.issued_at.seconds) // 86400 == 14
    assert (acme_invoice.tax.amount, acme_invoice.total.amount) == ("43.13", "543.13")
    assert (tanaka_invoice.tax.amount, tanaka_invoice.total.amount) == ("12346", "135803")
    assert (helvetia_invoice.tax.amount, helvetia_invoice.total.amount) == ("0.00", "1234.50")

    with grpc.insecure_channel(invoicing.target) as channel:
        stub = pb_grpc.InvoicingServiceStub(channel)

        def printed(invoice):
            return pdf_text(
                stub.GetInvoicePdf(
                    pb.GetInvoicePdfRequest(invoice_id=invoice.id), metadata=invoicing.metadata()
                ).pdf
            )

        us_pdf, jp_pdf, ch_pdf = printed(acme_invoice), printed(tanaka_invoice), printed(helvetia_invoice)
    for expected in (
        "Tally Billing Inc. 1 Market St Suite 300 SAN FRANCISCO, CA 94105 UNITED STATES Tax ID: EIN 12-3456789",
        "Acme Corp 350 5th Ave NEW YORK, NY 10118 UNITED STATES",
        f"Invoice number {acme_invoice.number}",
        "Sales tax 8.625% (NY, US) on USD 500.00 USD 43.13",
        "Amount due USD 543.13",
        "How to pay ACH routing 021000021, account 000123456789",
    ):
        assert expected in us_pdf, expected
    for expected in (
        "Tally Billing UK Ltd 1 Ledger Lane LONDON EC1A 1AA UNITED KINGDOM Tax ID: GB 123 4567 89 "
        "Registration: Companies House 01234567 billing@tally.co.uk",
        "Tanaka KK 1-1-1 Marunouchi Chiyoda-ku, TOKYO 100-0005 JAPAN",
        f"Invoice number {tanaka_invoice.number}",
        "Platform fee 2026/03/01 – 2026/03/31 1 JPY 123,457 JPY 123,457",
        "JCT 10% (Japan) on JPY 123,457 JPY 12,346",
        "Amount due JPY 135,803",
        "How to pay Barclays, sort code 20-00-00 IBAN GB29 NWBK 6016 1331 9268 19",
    ):
        assert expected in jp_pdf, expected
    for expected in (
        "Tally Billing UK Ltd",
        "Helvetia AG Bahnhofstrasse 1 CH-8001 Zürich SWITZERLAND Tax ID: CHE-123.456.789",
        "Amount due CHF 1'234.50",
        "Reverse charge: no tax is charged; the customer accounts for it.",
    ):
        assert expected in ch_pdf, expected
    assert "Tally Billing Inc." not in jp_pdf and "Tally Billing UK Ltd" not in us_pdf


def test_a_preview_a_week_in_shows_the_minimum_a_new_grant_and_a_pending_correction_and_equals_the_invoice(
    services, database_url
):
    catalog, metering, invoicing = services
    meter_id = make_meter(metering)
    _, acme, subscription = make_catalog(catalog, meter_id)
    with grpc.insecure_channel(catalog.target) as channel:
        # A 500.00 commitment per month for this customer.
        cat_grpc.CatalogServiceStub(channel).UpdateSubscription(
            cat.UpdateSubscriptionRequest(
                subscription=cat.Subscription(
                    id=subscription.id, minimum_commitment=money_pb2.Money(amount="500.00", currency="USD")
                ),
                update_mask={"paths": ["minimum_commitment"]},
            ),
            metadata=catalog.metadata(),
        )
    # 75 calls in March (5 × 10.00 + 5 × 8.00 + 65 × 6.00 = 480.00) and the fee: above the commitment.
    send_calls(
        metering, "march", [datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=n) for n in range(75)]
    )
    wait_for_usage(metering, meter_id, MARCH, APRIL, 75)
    run_billing(invoicing, APRIL + timedelta(hours=2))
    [march] = invoices_of(invoicing, subscription.id)
    assert march.status == pb.INVOICE_STATUS_FINALIZED
    late = send_late_call(metering, database_url, datetime(2026, 3, 30, tzinfo=UTC))  # a correction pending
    send_calls(metering, "april", [datetime(2026, 4, day, tzinfo=UTC) for day in (2, 3, 5)])  # 3 calls so far
    wait_for_usage(metering, meter_id, APRIL, MAY, 3)
    with grpc.insecure_channel(catalog.target) as channel:  # a grant made in catalog, never copied by a run
        cat_grpc.CatalogServiceStub(channel).CreateCreditGrant(
            cat.CreateCreditGrantRequest(
                credit_grant=cat.CreditGrant(
                    customer_id=acme.id,
                    amount=money_pb2.Money(amount="100.00", currency="USD"),
                    cost_basis="0",
                    kind=cat.CREDIT_GRANT_KIND_PROMOTIONAL,
                    description="Spring promotion",
                    effective_at=stamp(APRIL),
                )
            ),
            metadata=catalog.metadata(),
        )

    with grpc.insecure_channel(invoicing.target) as channel:
        invoices = pb_grpc.InvoicingServiceStub(channel)

        def preview(at):
            return invoices.PreviewInvoice(
                pb.PreviewInvoiceRequest(subscription_id=subscription.id, as_of=stamp(at)),
                metadata=invoicing.metadata(),
            ).invoice

        day_7 = preview(datetime(2026, 4, 7, 12, tzinfo=UTC))
        last_day = preview(datetime(2026, 4, 30, 18, tzinfo=UTC))
    # 49.00 fee + 3 calls (30.00) = 79.00, topped up to 500.00 at the period end; the late March call (the
    # 76th: 6.00) corrects March; 100.00 of promotional credit before tax; 20 % tax on what is left.
    lines = [
        (pb.InvoiceLineKind.Name(line.kind), line.description, line.amount.amount, line.tax.amount)
        for line in day_7.lines
    ]
    assert lines == [
        ("INVOICE_LINE_KIND_RECURRING", "Platform fee", "49.00", "9.80"),
        ("INVOICE_LINE_KIND_USAGE", "API calls", "30.00", "6.00"),
        (
            "INVOICE_LINE_KIND_MINIMUM_TRUE_UP",
            "Minimum commitment (at period end, with the usage so far)",
            "421.00",
            "84.20",
        ),
        (
            "INVOICE_LINE_KIND_ADJUSTMENT",
            f"Usage corrections for invoice {march.number} (1 events)",
            "6.00",
            "1.20",
        ),
        ("INVOICE_LINE_KIND_CREDIT", "Spring promotion", "-100.00", "-20.00"),
    ]
    minimum = day_7.lines[2]
    assert [(step.description, step.subtotal) for step in minimum.breakdown] == [
        ("Commitment", "500.00"),
        ("Billed in the period", "-79.00"),
    ]
    correction = day_7.lines[3]
    assert (correction.corrects_invoice_id, set(correction.event_ids)) == (march.id, late)
    assert (day_7.subtotal.amount, day_7.credits_before_tax.amount, day_7.tax_base.amount) == (
        "506.00",
        "100.00",
        "406.00",
    )
    assert (day_7.tax.amount, day_7.total.amount, day_7.amount_due.amount) == ("81.20", "487.20", "487.20")

    assert last_day.lines == day_7.lines and last_day.amount_due == day_7.amount_due
    run_billing(invoicing, MAY + timedelta(hours=2))
    april = next(invoice for invoice in invoices_of(invoicing, subscription.id) if invoice.id != march.id)
    assert april.status == pb.INVOICE_STATUS_FINALIZED
    assert [(line.kind, line.amount.amount, line.tax.amount) for line in april.lines] == [
        (line.kind, line.amount.amount, line.tax.amount) for line in last_day.lines
    ]
    for total in ("subtotal", "credits_before_tax", "tax", "total", "credits_applied", "amount_due"):
        assert getattr(april, total) == getattr(last_day, total), total
