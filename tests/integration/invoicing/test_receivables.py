"""Receivables through the invoicing service and its database: a credit note and a payment lower what is still due
(PARTIALLY_PAID), a credit note larger than what remains settles the invoice (PAID, InvoicePaid published) and
leaves the excess as customer credit in the ledger, and the customer's statement (RPC and PDF) ages what is open."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import UTC, datetime, timedelta

import grpc
from pypdf import PdfReader
from sqlalchemy import insert

from tally.api.common.v1 import money_pb2
from tally.api.invoicing.v1 import events_pb2
from tally.api.invoicing.v1 import invoicing_service_pb2 as pb
from tally.api.invoicing.v1 import invoicing_service_pb2_grpc as pb_grpc
from tally.invoicing.tables import invoice_lines, invoices
from tally.mesh import jetstream, streams
from tally.persistence.engine import create_engine
from tally.testing.services import ServiceProcess

ISSUED = datetime.now(UTC).replace(microsecond=0) - timedelta(days=40)


def seed(database_url, invoice_id, number, amount, tax, issued):
    """A FINALIZED USD invoice of one line taxed at 20 %."""
    total = str(amount + tax)
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(
            insert(invoices).values(
                id=invoice_id,
                number=number,
                customer_id="cus_acme",
                subscription_id="sub_1",
                status="FINALIZED",
                currency="USD",
                period_start=issued - timedelta(days=30),
                period_end=issued,
                subtotal=str(amount),
                tax=str(tax),
                credits_applied="0.00",
                total=total,
                amount_due=total,
                issued_at=issued,
                due_at=issued + timedelta(days=30),
                created_at=issued,
                updated_at=issued,
                customer_snapshot=json.dumps(
                    {"name": "Acme Inc.", "email": "ap@acme.test", "address": [], "tax_id": ""}
                ),
            )
        )
        conn.execute(
            insert(invoice_lines).values(
                id=f"{invoice_id}-0001",
                invoice_id=invoice_id,
                position=1,
                kind="USAGE",
                description="API calls",
                charge_id="calls",
                meter_id="m",
                amount=str(amount),
                tax=str(tax),
                tax_rate_percent="20",
                currency="USD",
            )
        )
    engine.dispose()


async def last_paid(nats_url) -> events_pb2.InvoicePaid:
    nc = await jetstream.connect(nats_url, name="test-receivables")
    try:
        message = await nc.jetstream().get_last_msg(streams.INVOICING.name, streams.INVOICE_PAID)
        return events_pb2.InvoicePaid.FromString(message.data)
    finally:
        await nc.close()


def test_credit_notes_and_payments_take_what_is_due_down_and_a_larger_note_becomes_customer_credit(
    tmp_path, nats_server, database_url
):
    from decimal import Decimal

    service = ServiceProcess("invoicing", "tally.invoicing", database_url, nats_server.url, tmp_path / "inv")
    service.start()
    try:
        seed(database_url, "inv-1", "INV-2026-000001", Decimal("410.94"), Decimal("82.19"), ISSUED)
        seed(
            database_url,
            "inv-2",
            "INV-2026-000002",
            Decimal("100.00"),
            Decimal("20.00"),
            ISSUED + timedelta(days=35),
        )
        md = service.metadata()
        with grpc.insecure_channel(service.target) as channel:
            stub = pb_grpc.InvoicingServiceStub(channel)

            def invoice():
                return stub.GetInvoice(pb.GetInvoiceRequest(invoice_id="inv-1"), metadata=md).invoice

            assert invoice().amount_remaining.amount == "493.13"
            note = stub.CreateCreditNote(
                pb.CreateCreditNoteRequest(
                    invoice_id="inv-1",
                    amount=money_pb2.Money(amount="22.63", currency="USD"),
                    reason=pb.CREDIT_NOTE_REASON_BILLING_ERROR,
                ),
                metadata=md,
            ).credit_note
            assert (note.total.amount, note.amount_applied.amount, note.amount_carried_forward.amount) == (
                "27.16",
                "27.16",
                "0.00",
            )
            assert (invoice().status, invoice().amount_remaining.amount) == (
                pb.INVOICE_STATUS_FINALIZED,
                "465.97",
            )

            paid = stub.RecordPayment(
                pb.RecordPaymentRequest(
                    invoice_id="inv-1",
                    payment_id="wire-77",
                    amount=money_pb2.Money(amount="200.00", currency="USD"),
                    reference="BACS 77",
                ),
                metadata=md,
            )
            assert (paid.invoice.status, paid.invoice.amount_remaining.amount) == (
                pb.INVOICE_STATUS_PARTIALLY_PAID,
                "265.97",
            )
            again = stub.RecordPayment(
                pb.RecordPaymentRequest(
                    invoice_id="inv-1",
                    payment_id="wire-77",
                    amount=money_pb2.Money(amount="200.00", currency="USD"),
                ),
                metadata=md,
            )
            assert again.duplicate and again.invoice.amount_remaining.amount == "265.97"

            statement = stub.GetCustomerStatement(
                pb.GetCustomerStatementRequest(customer_id="cus_acme"), metadata=md
            )
            assert [(i.number, i.age_days, i.bucket, i.amount_remaining.amount) for i in statement.items] == [
                ("INV-2026-000001", 40, "31-60", "265.97"),
                ("INV-2026-000002", 5, "0-30", "120.00"),
            ]
            [summary] = statement.summaries
            assert [(b.bucket, b.amount.amount) for b in summary.buckets] == [
                ("0-30", "120.00"),
                ("31-60", "265.97"),
                ("61-90", "0.00"),
                ("90+", "0.00"),
            ]
            assert (summary.outstanding.amount, summary.net.amount) == ("385.97", "385.97")

            rest = stub.CreateCreditNote(
                pb.CreateCreditNoteRequest(
                    invoice_id="inv-1", full=True, reason=pb.CREDIT_NOTE_REASON_GOODWILL
                ),
                metadata=md,
            ).credit_note
            assert (rest.total.amount, rest.amount_applied.amount, rest.amount_carried_forward.amount) == (
                "465.97",
                "265.97",
                "200.00",
            )
            settled = invoice()
            assert (settled.status, settled.amount_paid.amount, settled.amount_credited.amount) == (
                pb.INVOICE_STATUS_PAID,
                "200.00",
                "293.13",
            )
            ledger = stub.ListCreditLedger(
                pb.ListCreditLedgerRequest(customer_id="cus_acme"), metadata=md
            ).entries
            assert [(pb.CreditLedgerEntryKind.Name(e.kind), e.amount.amount) for e in ledger] == [
                ("CREDIT_LEDGER_ENTRY_KIND_GRANTED", "200.00")
            ]
            statement = stub.GetCustomerStatement(
                pb.GetCustomerStatementRequest(customer_id="cus_acme"), metadata=md
            )
            [summary] = statement.summaries
            assert (summary.outstanding.amount, summary.credit_balance.amount, summary.net.amount) == (
                "120.00",
                "200.00",
                "-80.00",
            )
            pdf = stub.GetCustomerStatementPdf(
                pb.GetCustomerStatementPdfRequest(customer_id="cus_acme"), metadata=md
            )
            text = " ".join(
                " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.pdf)).pages).split()
            )
            for expected in (
                "STATEMENT",
                "Acme Inc.",
                "INV-2026-000002",
                "5 (0-30)",
                "Outstanding USD 120.00 Credit balance -USD 200.00 Net due -USD 80.00",
            ):
                assert expected in text, expected
            assert pdf.filename.startswith("statement-cus_acme-")
        published = asyncio.run(last_paid(service.nats_url))
        assert (published.invoice.id, published.invoice.status) == ("inv-1", pb.INVOICE_STATUS_PAID)
    finally:
        service.kill()
