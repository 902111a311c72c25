import asyncio
import io
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from pypdf import PdfReader
from sqlalchemy import func, insert, select

from tally.api.common.v1 import money_pb2, pagination_pb2
from tally.api.invoicing.v1 import events_pb2
from tally.api.invoicing.v1 import invoicing_service_pb2 as pb
from tally.api.invoicing.v1 import invoicing_service_pb2_grpc as pb_grpc
from tally.invoicing.tables import (
    credit_grants,
    credit_ledger,
    credit_note_lines,
    credit_notes,
    invoice_lines,
    invoices,
)
from tally.mesh import jetstream, streams
from tally.mesh.errors import field_violations
from tally.persistence.engine import create_engine
from tally.testing.services import ServiceProcess

PERIOD_START = datetime(2026, 4, 1, tzinfo=UTC)
PERIOD_END = datetime(2026, 5, 1, tzinfo=UTC)
ISSUED_AT = datetime(2026, 5, 1, 0, 5, tzinfo=UTC)


@pytest.fixture
def invoicing(tmp_path, nats_server, database_url):
    service = ServiceProcess(
        "invoicing",
        "tally.invoicing",
        database_url,
        nats_server.url,
        tmp_path / "invoicing",
        env={
            "TALLY_INVOICE_ISSUER_NAME": "Example Billing GmbH",
            "TALLY_INVOICE_ISSUER_ADDRESS": "Hauptstrasse 1|10115 Berlin",
            "TALLY_INVOICE_ISSUER_TAX_ID": "DE123456789",
        },
    )
    service.start()
    yield service
    service.kill()


@pytest.fixture
def engine(invoicing):
    engine = create_engine(invoicing.database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def stub(invoicing):
    with grpc.insecure_channel(invoicing.target) as channel:
        yield pb_grpc.InvoicingServiceStub(channel)


def seed_invoice(engine, invoice_id, *, status="FINALIZED", number="INV-2026-000001", customer_id="cus_acme"):
    """An EUR invoice: API calls 100.00 + 19.00 tax, platform fee 33.33 + 6.33 tax (19 %), and 20.00 of
    prepaid credit burned from grant-1: total 158.66, 138.66 due."""
    draft = status == "DRAFT"
    with engine.begin() as conn:
        conn.execute(
            insert(invoices).values(
                id=invoice_id,
                number=None if draft else number,
                customer_id=customer_id,
                subscription_id="sub_1",
                status=status,
                currency="EUR",
                period_start=PERIOD_START,
                period_end=PERIOD_END,
                subtotal="133.33",
                tax="25.33",
                credits_applied="20.00",
                total="158.66",
                amount_due="138.66",
                issued_at=None if draft else ISSUED_AT,
                due_at=None if draft else ISSUED_AT + timedelta(days=30),
                created_at=ISSUED_AT,
                updated_at=ISSUED_AT,
                customer_snapshot='{"name": "Acme Corp", "email": "ap@acme.test", "address": ["2 Side St"], '
                '"tax_id": ""}',
            )
        )
        common = {
            "invoice_id": invoice_id,
            "charge_id": "",
            "meter_id": "",
            "currency": "EUR",
            "quantity": None,
            "unit_price": None,
            "service_period_start": PERIOD_START,
            "service_period_end": PERIOD_END,
        }
        conn.execute(
            insert(invoice_lines),
            [
                {
                    **common,
                    "id": f"{invoice_id}-l1",
                    "position": 1,
                    "kind": "USAGE",
                    "description": "API calls",
                    "meter_id": "api_calls",
                    "quantity": "200000",
                    "unit_price": "0.0005",
                    "amount": "100.00",
                    "tax": "19.00",
                    "tax_rate_percent": "19",
                },
                {
                    **common,
                    "id": f"{invoice_id}-l2",
                    "position": 2,
                    "kind": "RECURRING",
                    "description": "Platform fee",
                    "amount": "33.33",
                    "tax": "6.33",
                    "tax_rate_percent": "19",
                },
                {
                    **common,
                    "id": f"{invoice_id}-l3",
                    "position": 3,
                    "kind": "CREDIT",
                    "description": "Prepaid credit (grant-1)",
                    "charge_id": "grant-1",
                    "amount": "-20.00",
                    "tax": "0.00",
                    "tax_rate_percent": None,
                },
            ],
        )


def seed_burn(engine, invoice_id):
    """grant-1: 50.00 granted, 20.00 of it burned on ``invoice_id``."""
    with engine.begin() as conn:
        conn.execute(
            insert(credit_grants).values(
                id="grant-1",
                customer_id="cus_acme",
                currency="EUR",
                amount="50.00",
                cost_basis="1",
                priority=0,
                effective_at=PERIOD_START,
                expires_at=None,
                recorded_at=PERIOD_START,
            )
        )
        conn.execute(
            insert(credit_ledger),
            [
                {
                    "id": "cle-1",
                    "customer_id": "cus_acme",
                    "credit_grant_id": "grant-1",
                    "kind": "GRANTED",
                    "amount": "50.00",
                    "currency": "EUR",
                    "grant_balance_after": "50.00",
                    "invoice_id": None,
                    "occurred_at": PERIOD_START,
                    "description": "Credit granted",
                },
                {
                    "id": "cle-2",
                    "customer_id": "cus_acme",
                    "credit_grant_id": "grant-1",
                    "kind": "BURNED",
                    "amount": "-20.00",
                    "currency": "EUR",
                    "grant_balance_after": "30.00",
                    "invoice_id": invoice_id,
                    "occurred_at": ISSUED_AT,
                    "description": "Applied to invoice INV-2026-000001",
                },
            ],
        )


def cn(n):
    return f"CN-{datetime.now(UTC).year}-{n:06d}"


def eur(amount):
    return money_pb2.Money(amount=amount, currency="EUR")


def lines_credit(*lines):
    return pb.CreditedLines(lines=[pb.CreditedLine(invoice_line_id=i, amount=a) for i, a in lines])


def create(stub, service, invoice_id, **extent):
    request = pb.CreateCreditNoteRequest(
        invoice_id=invoice_id, reason=extent.pop("reason", pb.CREDIT_NOTE_REASON_BILLING_ERROR), **extent
    )
    return stub.CreateCreditNote(request, metadata=service.metadata()).credit_note


def void(stub, service, invoice_id, reason="Customer cancelled"):
    return stub.VoidInvoice(
        pb.VoidInvoiceRequest(invoice_id=invoice_id, reason=reason), metadata=service.metadata()
    )


def summary(note):
    return [(line.invoice_line_id, line.amount.amount, line.tax.amount) for line in note.lines]


def count(engine, table):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


async def _issued_events(nats_url, expected, wait_s):
    """Every CreditNoteIssued on the INVOICING stream, waiting up to ``wait_s`` for ``expected`` of them."""
    nc = await jetstream.connect(nats_url, name="test-credit-note-reader")
    try:
        sub = await nc.jetstream().pull_subscribe(streams.CREDIT_NOTE_ISSUED, stream=streams.INVOICING.name)
        found = []
        deadline = time.monotonic() + wait_s
        lingered = False
        while time.monotonic() < deadline:
            try:
                batch = await sub.fetch(50, timeout=0.5 if len(found) < expected else 1.0)
            except TimeoutError:  # nats or asyncio: both are TimeoutError
                batch = []
            for msg in batch:
                await msg.ack()
                found.append(
                    ((msg.headers or {}).get("Nats-Msg-Id"), events_pb2.CreditNoteIssued.FromString(msg.data))
                )
            if len(found) >= expected:
                # Linger once so a duplicate would be seen too.
                if lingered:
                    break
                lingered = True
        return found
    finally:
        await nc.close()


def issued_events(service, expected, timeout=15.0):
    return asyncio.run(_issued_events(service.nats_url, expected, timeout))


def test_voiding_credits_everything_gives_prepaid_credit_back_and_publishes_once(invoicing, engine, stub):
    seed_invoice(engine, "inv-1")
    seed_burn(engine, "inv-1")
    before = datetime.now(UTC)
    done = void(stub, invoicing, "inv-1")
    assert done.invoice.status == pb.INVOICE_STATUS_VOID
    voided_at = done.invoice.voided_at.ToDatetime(tzinfo=UTC)
    assert before - timedelta(seconds=1) <= voided_at <= datetime.now(UTC) + timedelta(seconds=1)

    note = done.credit_note
    assert note.number == cn(1)
    assert (note.invoice_id, note.invoice_number, note.customer_id, note.currency) == (
        "inv-1",
        "INV-2026-000001",
        "cus_acme",
        "EUR",
    )
    assert (note.reason, note.memo) == (pb.CREDIT_NOTE_REASON_INVOICE_VOIDED, "Customer cancelled")
    # Prepaid credit lines are not credited: the burn is given back to the grant instead.
    assert summary(note) == [("inv-1-l1", "100.00", "19.00"), ("inv-1-l2", "33.33", "6.33")]
    assert [line.quantity for line in note.lines] == ["200000", ""]
    assert (note.subtotal.amount, note.tax.amount, note.total.amount) == ("133.33", "25.33", "158.66")
    assert note.issued_at == done.invoice.voided_at

    with engine.connect() as conn:
        reversed_ = conn.execute(
            select(credit_ledger.c.amount, credit_ledger.c.grant_balance_after).where(
                credit_ledger.c.kind == "REVERSED"
            )
        ).all()
    assert reversed_ == [("20.00", "50.00")]

    # Voiding again returns the invoice and its credit note unchanged, and gives nothing back twice.
    again = void(stub, invoicing, "inv-1", reason="retry")
    assert again == done
    assert count(engine, credit_notes) == 1
    assert count(engine, credit_ledger) == 3

    got = stub.GetCreditNote(pb.GetCreditNoteRequest(credit_note_id=note.id), metadata=invoicing.metadata())
    assert got.credit_note == note
    stored = stub.GetInvoice(pb.GetInvoiceRequest(invoice_id="inv-1"), metadata=invoicing.metadata()).invoice
    assert stored == done.invoice

    events = issued_events(invoicing, expected=1)
    assert [msg_id for msg_id, _ in events] == [f"credit-note-issued:{note.id}"]
    assert events[0][1].credit_note == note

    # A void invoice is not credited again.
    with pytest.raises(grpc.RpcError) as refused:
        create(stub, invoicing, "inv-1", full=True)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "VOID" in refused.value.details()


@pytest.mark.parametrize("status", ["DRAFT", "PAID"])
def test_drafts_and_paid_invoices_are_not_voided(invoicing, engine, stub, status):
    seed_invoice(engine, "inv-1", status=status)
    with pytest.raises(grpc.RpcError) as refused:
        void(stub, invoicing, "inv-1")
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert status in refused.value.details()
    assert count(engine, credit_notes) == 0
    with engine.connect() as conn:
        assert conn.execute(select(invoices.c.status, invoices.c.voided_at)).one() == (status, None)


def test_over_crediting_is_refused_naming_the_field_and_writes_nothing(invoicing, engine, stub):
    seed_invoice(engine, "inv-1")
    with pytest.raises(grpc.RpcError) as over:
        create(stub, invoicing, "inv-1", lines=lines_credit(("inv-1-l2", "10.00"), ("inv-1-l1", "100.01")))
    assert over.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [(v.field, v.reason) for v in field_violations(over.value)] == [
        ("lines[1].amount", "credits 100.01 EUR, more than the 100.00 EUR left to credit on line inv-1-l1")
    ]
    with pytest.raises(grpc.RpcError) as prepaid:
        create(stub, invoicing, "inv-1", lines=lines_credit(("inv-1-l3", "")))
    assert [v.field for v in field_violations(prepaid.value)] == ["lines[0].invoice_line_id"]
    with pytest.raises(grpc.RpcError) as lump:
        create(stub, invoicing, "inv-1", amount=eur("133.34"))
    assert [v.field for v in field_violations(lump.value)] == ["amount.amount"]
    with pytest.raises(grpc.RpcError) as no_reason:
        create(stub, invoicing, "inv-1", full=True, reason=pb.CREDIT_NOTE_REASON_UNSPECIFIED)
    assert [v.field for v in field_violations(no_reason.value)] == ["reason"]
    with pytest.raises(grpc.RpcError) as no_extent:
        create(stub, invoicing, "inv-1")
    assert [v.field for v in field_violations(no_extent.value)] == ["extent"]
    with pytest.raises(grpc.RpcError) as unknown:
        create(stub, invoicing, "nope", full=True)
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
    assert [v.field for v in field_violations(unknown.value)] == ["invoice_id"]
    assert count(engine, credit_notes) == count(engine, credit_note_lines) == 0

    # The refused requests used no number; a partial credit of a line, then the rest, are exact.
    part = create(stub, invoicing, "inv-1", lines=lines_credit(("inv-1-l2", "10.00")), memo="Fee overcharged")
    assert (part.number, summary(part), part.total.amount) == (
        cn(1),
        [("inv-1-l2", "10.00", "1.90")],
        "11.90",
    )
    rest = create(stub, invoicing, "inv-1", full=True, reason=pb.CREDIT_NOTE_REASON_GOODWILL)
    assert rest.number == cn(2)
    assert summary(rest) == [("inv-1-l1", "100.00", "19.00"), ("inv-1-l2", "23.33", "4.43")]
    assert rest.total.amount == "146.76"  # 158.66 − 11.90
    with pytest.raises(grpc.RpcError) as spent:
        create(stub, invoicing, "inv-1", amount=eur("0.01"))
    assert spent.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    # A draft is not credited.
    seed_invoice(engine, "inv-draft", status="DRAFT")
    with pytest.raises(grpc.RpcError) as draft:
        create(stub, invoicing, "inv-draft", full=True)
    assert draft.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "DRAFT" in draft.value.details()


def test_concurrent_credit_notes_get_gapless_numbers_and_never_over_credit(invoicing, engine, stub):
    seed_invoice(engine, "inv-1")

    def credit_ten(_):
        try:
            return create(stub, invoicing, "inv-1", lines=lines_credit(("inv-1-l1", "10.00")))
        except grpc.RpcError as error:
            return error

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(credit_ten, range(12)))
    issued = [result for result in results if isinstance(result, pb.CreditNote)]
    refused = [result for result in results if isinstance(result, grpc.RpcError)]
    # Line 1 is 100.00: ten credits of 10.00 fit, the other two find nothing left.
    assert sorted(note.number for note in issued) == [cn(n) for n in range(1, 11)]
    assert {tuple(summary(note)) for note in issued} == {(("inv-1-l1", "10.00", "1.90"),)}
    assert [(e.code(), [v.field for v in field_violations(e)]) for e in refused] == [
        (grpc.StatusCode.INVALID_ARGUMENT, ["lines[0].invoice_line_id"])
    ] * 2
    with engine.connect() as conn:
        assert sorted(conn.execute(select(credit_notes.c.number)).scalars()) == [cn(n) for n in range(1, 11)]

    events = issued_events(invoicing, expected=10)
    assert sorted(msg_id for msg_id, _ in events) == sorted(
        f"credit-note-issued:{note.id}" for note in issued
    )


def test_credit_notes_are_listed_newest_first_by_customer_and_invoice(invoicing, engine, stub):
    seed_invoice(engine, "inv-1")
    seed_invoice(engine, "inv-2", number="INV-2026-000002", customer_id="cus_other")
    first = create(stub, invoicing, "inv-1", amount=eur("10.00"))
    second = create(stub, invoicing, "inv-2", amount=eur("5.00"))
    third = create(stub, invoicing, "inv-1", lines=lines_credit(("inv-1-l2", "")))
    # 10.00 over 100.00 and 33.33 in proportion: 7.50 and 2.50, each taxed at 19 % (R2).
    assert summary(first) == [("inv-1-l1", "7.50", "1.43"), ("inv-1-l2", "2.50", "0.48")]
    assert first.total.amount == "11.91"

    def page(**kwargs):
        return stub.ListCreditNotes(pb.ListCreditNotesRequest(**kwargs), metadata=invoicing.metadata())

    everything = page()
    assert [note.number for note in everything.credit_notes] == [third.number, second.number, first.number]
    assert everything.credit_notes[2] == first
    one = page(invoice_id="inv-1", page=pagination_pb2.PageRequest(page_size=1))
    assert [note.id for note in one.credit_notes] == [third.id]
    two = page(
        invoice_id="inv-1", page=pagination_pb2.PageRequest(page_size=1, page_token=one.page.next_page_token)
    )
    assert [note.id for note in two.credit_notes] == [first.id]
    assert two.page.next_page_token == ""
    assert [note.id for note in page(customer_id="cus_other").credit_notes] == [second.id]
    with pytest.raises(grpc.RpcError) as forged:
        page(page=pagination_pb2.PageRequest(page_token="bm9wZQ=="))
    assert [v.field for v in field_violations(forged.value)] == ["page.page_token"]


def pdf_text(pdf):
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())


def test_invoices_and_credit_notes_render_as_pdfs(invoicing, engine, stub):
    seed_invoice(engine, "inv-1")
    invoice_pdf = stub.GetInvoicePdf(
        pb.GetInvoicePdfRequest(invoice_id="inv-1"), metadata=invoicing.metadata()
    )
    assert invoice_pdf.filename == "INV-2026-000001.pdf"
    printed = pdf_text(invoice_pdf.pdf)
    for expected in (
        "INV-2026-000001",
        "Example Billing GmbH",
        "Hauptstrasse 1",
        "10115 Berlin",
        "DE123456789",
        "Acme Corp",
        "API calls",
        "€100.00",
        "Platform fee",
        "€33.33",
        "Total €158.66",
        "Amount due €138.66",
    ):
        assert expected in printed

    note = void(stub, invoicing, "inv-1", reason="Duplicate invoice").credit_note
    note_pdf = stub.GetCreditNotePdf(
        pb.GetCreditNotePdfRequest(credit_note_id=note.id), metadata=invoicing.metadata()
    )
    assert note_pdf.filename == f"{note.number}.pdf"
    printed = pdf_text(note_pdf.pdf)
    for expected in (
        note.number,
        "INV-2026-000001",
        "Invoice voided: Duplicate invoice",
        "API calls",
        "€100.00",
        "Platform fee",
        "€33.33",
        "Total credited €158.66",
    ):
        assert expected in printed

    seed_invoice(engine, "inv-draft", status="DRAFT")
    draft_pdf = stub.GetInvoicePdf(
        pb.GetInvoicePdfRequest(invoice_id="inv-draft"), metadata=invoicing.metadata()
    )
    assert draft_pdf.filename == "draft-inv-draft.pdf"
    assert "DRAFT INVOICE" in pdf_text(draft_pdf.pdf)

    with pytest.raises(grpc.RpcError) as missing:
        stub.GetCreditNotePdf(
            pb.GetCreditNotePdfRequest(credit_note_id="nope"), metadata=invoicing.metadata()
        )
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    assert [v.field for v in field_violations(missing.value)] == ["credit_note_id"]


def test_a_read_only_key_reads_but_cannot_credit_or_void(invoicing, engine):
    seed_invoice(engine, "inv-1")
    invoicing.stop()
    reader = invoicing.add_key("reader", ["invoices:read"])
    invoicing.start()
    with grpc.insecure_channel(invoicing.target) as channel:
        stub = pb_grpc.InvoicingServiceStub(channel)
        metadata = invoicing.metadata(reader)
        assert stub.GetInvoicePdf(pb.GetInvoicePdfRequest(invoice_id="inv-1"), metadata=metadata).pdf
        assert list(stub.ListCreditNotes(pb.ListCreditNotesRequest(), metadata=metadata).credit_notes) == []
        for call in (
            lambda: stub.VoidInvoice(pb.VoidInvoiceRequest(invoice_id="inv-1"), metadata=metadata),
            lambda: stub.CreateCreditNote(
                pb.CreateCreditNoteRequest(
                    invoice_id="inv-1", full=True, reason=pb.CREDIT_NOTE_REASON_GOODWILL
                ),
                metadata=metadata,
            ),
        ):
            with pytest.raises(grpc.RpcError) as denied:
                call()
            assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
