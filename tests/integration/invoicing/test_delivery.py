"""Delivery through a real SMTP server on loopback (aiosmtpd): the invoicing service e-mails each finalized invoice
and issued credit note to the customer's billing contacts with its PDF attached, retries a server that refuses,
logs every attempt, and sends again on request."""

from __future__ import annotations

import io
import json
import time
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from pypdf import PdfReader
from sqlalchemy import insert

from tally.api.common.v1 import money_pb2
from tally.api.invoicing.v1 import invoicing_service_pb2 as pb
from tally.api.invoicing.v1 import invoicing_service_pb2_grpc as pb_grpc
from tally.cli.mailbox import Mailbox, attachment
from tally.invoicing.tables import invoice_lines, invoices
from tally.persistence.engine import create_engine
from tally.testing.ports import free_port
from tally.testing.services import ServiceProcess

PERIOD_START = datetime(2026, 4, 1, tzinfo=UTC)
PERIOD_END = datetime(2026, 5, 1, tzinfo=UTC)
CUSTOMER = {
    "name": "Acme GmbH",
    "email": "info@acme.test",
    "postal_address": {
        "line1": "Hauptstr. 1",
        "line2": "",
        "city": "Berlin",
        "region": "",
        "postal_code": "10115",
        "country": "DE",
    },
    "tax_id": "DE123456789",
    "external_id": "acme",
    "billing_emails": ["ap@acme.test", "cfo@acme.test"],
    "locale": "de_DE",
    "tax": {"name": "USt.", "jurisdiction": "Deutschland", "treatment": "STANDARD", "note": ""},
}


def start_invoicing(tmp_path, nats_url, database_url, smtp_port):
    service = ServiceProcess(
        "invoicing",
        "tally.invoicing",
        database_url,
        nats_url,
        tmp_path / "invoicing",
        env={
            "TALLY_SMTP_HOST": "127.0.0.1",
            "TALLY_SMTP_PORT": str(smtp_port),
            "TALLY_SMTP_FROM": "billing@tally.test",
            "TALLY_SMTP_TIMEOUT_SECONDS": "5",
            "TALLY_DELIVERY_RETRY_SECONDS": "0.3,0.3,0.3",
            "TALLY_INVOICE_ISSUER_NAME": "Tally Demo Ltd",
        },
    )
    service.start()
    return service


def seed_draft(database_url, invoice_id="inv-1"):
    """A EUR draft: 100.00 + 19.00 tax, for a customer with two billing contacts."""
    engine = create_engine(database_url)
    created = datetime(2026, 5, 1, 0, 5, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(invoices).values(
                id=invoice_id,
                customer_id="cus_acme",
                subscription_id="sub_1",
                status="DRAFT",
                currency="EUR",
                period_start=PERIOD_START,
                period_end=PERIOD_END,
                subtotal="100.00",
                tax="19.00",
                credits_applied="0.00",
                total="119.00",
                amount_due="119.00",
                created_at=created,
                updated_at=created,
                customer_snapshot=json.dumps(CUSTOMER),
            )
        )
        conn.execute(
            insert(invoice_lines).values(
                id=f"{invoice_id}-0001",
                invoice_id=invoice_id,
                position=1,
                kind="USAGE",
                description="API-Aufrufe",
                charge_id="calls",
                meter_id="m",
                quantity="100000",
                unit_price="0.001",
                amount="100.00",
                tax="19.00",
                tax_rate_percent="19",
                currency="EUR",
                service_period_start=PERIOD_START,
                service_period_end=PERIOD_END,
            )
        )
    engine.dispose()


def pdf_text(data: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


def deliveries(stub, service, document_id):
    return stub.ListDeliveries(
        pb.ListDeliveriesRequest(document_id=document_id), metadata=service.metadata()
    ).deliveries


def wait_for(check, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what} within {timeout} s")


@pytest.fixture
def mailbox():
    box = Mailbox(port=free_port())
    box.start()
    yield box
    box.stop()


def test_a_finalized_invoice_and_its_credit_note_arrive_with_their_pdfs_and_a_resend_arrives_again(
    tmp_path, nats_server, database_url, mailbox
):
    service = start_invoicing(tmp_path, nats_server.url, database_url, mailbox.port)
    try:
        seed_draft(database_url)
        with grpc.insecure_channel(service.target) as channel:
            stub = pb_grpc.InvoicingServiceStub(channel)
            invoice = stub.FinalizeInvoice(
                pb.FinalizeInvoiceRequest(invoice_id="inv-1"), metadata=service.metadata()
            ).invoice
            [(message, recipients)] = mailbox.wait(1, timeout=30)
            assert recipients == ("ap@acme.test", "cfo@acme.test")
            assert message["Subject"] == f"Invoice {invoice.number} from Tally Demo Ltd"
            assert message["From"] == "Tally Demo Ltd <billing@tally.test>"
            assert "119,00\xa0€" in message.get_body(preferencelist=("plain",)).get_content()
            name, pdf = attachment(message)
            assert name == f"{invoice.number}.pdf"
            printed = pdf_text(pdf)
            for expected in (
                invoice.number,
                "Acme GmbH",
                "Hauptstr. 1 10115 BERLIN GERMANY",
                "Amount due 119,00 €",
            ):
                assert expected in printed, expected
            [sent] = wait_for(
                lambda: [d for d in deliveries(stub, service, "inv-1") if d.state == "SENT"], 10, "SENT"
            )
            assert (sent.attempts, [a.outcome for a in sent.log]) == (1, ["SENT"])
            assert sent.message_id == message["Message-ID"]

            note = stub.CreateCreditNote(
                pb.CreateCreditNoteRequest(
                    invoice_id="inv-1",
                    amount=money_pb2.Money(amount="10.00", currency="EUR"),
                    reason=pb.CREDIT_NOTE_REASON_GOODWILL,
                ),
                metadata=service.metadata(),
            ).credit_note
            (_, _), (credited, _) = mailbox.wait(2, timeout=30)
            assert credited["Subject"] == f"Credit note {note.number} from Tally Demo Ltd"
            name, pdf = attachment(credited)
            assert name == f"{note.number}.pdf" and "Total credited 11,90 €" in pdf_text(pdf)

            resent = stub.ResendDocument(
                pb.ResendDocumentRequest(document_id="inv-1"), metadata=service.metadata()
            ).delivery
            assert resent.state == "PENDING"
            *_, (again, _) = mailbox.wait(3, timeout=30)
            assert again["Subject"] == message["Subject"]
            assert again["Message-ID"] != message["Message-ID"]
            assert len(deliveries(stub, service, "inv-1")) == 2

            with pytest.raises(grpc.RpcError) as unknown:
                stub.ResendDocument(pb.ResendDocumentRequest(document_id="nope"), metadata=service.metadata())
            assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
    finally:
        service.kill()


def test_a_mail_server_that_refuses_is_retried_and_every_attempt_is_logged(
    tmp_path, nats_server, database_url
):
    refusing = Mailbox(port=free_port(), refuse_first=2)
    refusing.start()
    service = start_invoicing(tmp_path, nats_server.url, database_url, refusing.port)
    try:
        seed_draft(database_url)
        with grpc.insecure_channel(service.target) as channel:
            stub = pb_grpc.InvoicingServiceStub(channel)
            invoice = stub.FinalizeInvoice(
                pb.FinalizeInvoiceRequest(invoice_id="inv-1"), metadata=service.metadata()
            ).invoice
            [(message, _)] = refusing.wait(1, timeout=30)
            assert message["Subject"] == f"Invoice {invoice.number} from Tally Demo Ltd"
            assert refusing.refused == 2
            [delivery] = wait_for(
                lambda: [d for d in deliveries(stub, service, "inv-1") if d.state == "SENT"], 10, "SENT"
            )
        assert [attempt.outcome for attempt in delivery.log] == ["FAILED", "FAILED", "SENT"]
        assert "451" in delivery.log[0].detail
        gaps = [
            (b.attempted_at.ToDatetime() - a.attempted_at.ToDatetime())
            for a, b in zip(delivery.log, delivery.log[1:], strict=False)
        ]
        assert all(gap >= timedelta(seconds=0.25) for gap in gaps), gaps  # each retry waited its turn
        time.sleep(1)
        assert len(refusing.messages) == 1  # sent once it was accepted, never again
    finally:
        service.kill()
        refusing.stop()
