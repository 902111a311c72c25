import asyncio
import time
from datetime import UTC, datetime

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import MetaData, insert, select

from tally.api.common.v1 import money_pb2, pagination_pb2
from tally.api.erp_sync.v1 import erp_sync_service_pb2 as erp_pb
from tally.api.erp_sync.v1 import events_pb2 as erp_events
from tally.api.invoicing.v1 import invoicing_service_pb2 as pb
from tally.api.invoicing.v1 import invoicing_service_pb2_grpc as pb_grpc
from tally.invoicing.tables import invoice_lines, invoices, payments
from tally.mesh import jetstream, streams
from tally.mesh.errors import field_violations
from tally.persistence.engine import create_engine
from tally.persistence.inbox import inbox_table
from tally.testing.services import ServiceProcess

PERIOD_START = datetime(2026, 4, 1, tzinfo=UTC)
PERIOD_END = datetime(2026, 5, 1, tzinfo=UTC)
ISSUED_AT = datetime(2026, 5, 1, 0, 5, tzinfo=UTC)
DUE_AT = datetime(2026, 5, 31, tzinfo=UTC)
RECEIVED_AT = datetime(2026, 5, 20, 14, 30, tzinfo=UTC)


@pytest.fixture
def invoicing(tmp_path, nats_server, database_url):
    service = ServiceProcess(
        "invoicing", "tally.invoicing", database_url, nats_server.url, tmp_path / "invoicing"
    )
    service.start()
    yield service
    service.kill()


@pytest.fixture
def engine(invoicing):
    engine = create_engine(invoicing.database_url)
    yield engine
    engine.dispose()


def seed_invoice(
    engine, invoice_id, *, status="FINALIZED", number=None, created_at=None, customer_id="cus_acme"
):
    """An EUR invoice: one usage line of 100.00 plus 19.00 tax (19 %), so 119.00 due."""
    with engine.begin() as conn:
        conn.execute(
            insert(invoices).values(
                id=invoice_id,
                number=number,
                customer_id=customer_id,
                subscription_id="sub_1",
                status=status,
                currency="EUR",
                period_start=PERIOD_START,
                period_end=PERIOD_END,
                subtotal="100.00",
                tax="19.00",
                credits_applied="0.00",
                total="119.00",
                amount_due="119.00",
                issued_at=None if status == "DRAFT" else ISSUED_AT,
                due_at=None if status == "DRAFT" else DUE_AT,
                created_at=created_at or ISSUED_AT,
                updated_at=created_at or ISSUED_AT,
            )
        )
        conn.execute(
            insert(invoice_lines).values(
                id=f"{invoice_id}-l1",
                invoice_id=invoice_id,
                position=1,
                kind="USAGE",
                description="API calls",
                charge_id="ch_api",
                meter_id="api_calls",
                quantity="200000",
                unit_price="0.0005",
                amount="100.00",
                tax="19.00",
                tax_rate_percent="19",
                currency="EUR",
                service_period_start=PERIOD_START,
                service_period_end=PERIOD_END,
            )
        )


def payment(payment_id, invoice_id, amount, currency="EUR"):
    received = Timestamp()
    received.FromDatetime(RECEIVED_AT)
    return erp_events.PaymentRecorded(
        payment_id=payment_id,
        erp=erp_pb.ERP_NETSUITE,
        invoice_id=invoice_id,
        amount=money_pb2.Money(amount=amount, currency=currency),
        received_at=received,
        erp_reference=f"PYMT-{payment_id}",
    )


async def publish_all(nats_url, messages):
    nc = await jetstream.connect(nats_url, name="test-erp")
    try:
        js = nc.jetstream()
        acks = [
            await jetstream.publish(js, streams.PAYMENT_RECORDED, m.SerializeToString(), msg_id)
            for msg_id, m in messages
        ]
        return [bool(ack.duplicate) for ack in acks]
    finally:
        await nc.close()


def wait_for_status(stub, service, invoice_id, status, timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        invoice = stub.GetInvoice(
            pb.GetInvoiceRequest(invoice_id=invoice_id), metadata=service.metadata()
        ).invoice
        if invoice.status == status or time.monotonic() > deadline:
            return invoice
        time.sleep(0.1)


def test_a_payment_marks_its_invoice_paid_exactly_once(invoicing, engine):
    seed_invoice(engine, "inv-1", number="INV-2026-000001")
    seed_invoice(engine, "inv-2", number="INV-2026-000002")
    duplicates = asyncio.run(
        publish_all(
            invoicing.nats_url,
            [
                ("payment-recorded:p1", payment("p1", "inv-1", "119.00")),
                ("payment-recorded:p1", payment("p1", "inv-1", "119.00")),
                # The same payment re-published under another message id (e.g. after the window).
                ("payment-recorded:p1:again", payment("p1", "inv-1", "119.00")),
                ("payment-recorded:unknown", payment("p9", "inv-unknown", "5.00")),
                ("payment-recorded:p2", payment("p2", "inv-2", "119.00")),
            ],
        )
    )
    assert duplicates == [False, True, False, False, False]
    with grpc.insecure_channel(invoicing.target) as channel:
        stub = pb_grpc.InvoicingServiceStub(channel)
        # Messages are handled in order: once inv-2 is paid, every earlier message was handled too.
        assert (
            wait_for_status(stub, invoicing, "inv-2", pb.INVOICE_STATUS_PAID).status == pb.INVOICE_STATUS_PAID
        )
        paid = stub.GetInvoice(
            pb.GetInvoiceRequest(invoice_id="inv-1"), metadata=invoicing.metadata()
        ).invoice
    assert paid.status == pb.INVOICE_STATUS_PAID
    assert paid.paid_at.ToDatetime(tzinfo=UTC) == RECEIVED_AT
    assert (paid.number, paid.amount_due.amount, paid.amount_due.currency) == (
        "INV-2026-000001",
        "119.00",
        "EUR",
    )
    assert [
        (line.kind, line.quantity, line.unit_price, line.amount.amount, line.tax.amount)
        for line in paid.lines
    ] == [(pb.INVOICE_LINE_KIND_USAGE, "200000", "0.0005", "100.00", "19.00")]
    with engine.connect() as conn:
        recorded = conn.execute(select(payments.c.payment_id, payments.c.invoice_id, payments.c.amount)).all()
        claimed = conn.execute(select(inbox_table(MetaData()).c.msg_id)).scalars().all()
    assert sorted(recorded) == [("p1", "inv-1", "119.00"), ("p2", "inv-2", "119.00")]
    assert sorted(claimed) == [
        "payment-recorded:p1",
        "payment-recorded:p1:again",
        "payment-recorded:p2",
        "payment-recorded:unknown",
    ]


def test_a_partial_payment_leaves_the_invoice_partially_paid_and_the_next_one_settles_it(invoicing, engine):
    seed_invoice(engine, "inv-1")
    seed_invoice(engine, "inv-draft", status="DRAFT")
    asyncio.run(
        publish_all(
            invoicing.nats_url,
            [
                ("payment-recorded:p1", payment("p1", "inv-1", "100.00")),
                ("payment-recorded:p-draft", payment("p-draft", "inv-draft", "119.00")),
                ("payment-recorded:p-usd", payment("p-usd", "inv-1", "19.00", currency="USD")),
            ],
        )
    )
    with grpc.insecure_channel(invoicing.target) as channel:
        stub = pb_grpc.InvoicingServiceStub(channel)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                if len(conn.execute(select(inbox_table(MetaData()).c.msg_id)).all()) == 3:
                    break
            time.sleep(0.1)
        partly = stub.GetInvoice(
            pb.GetInvoiceRequest(invoice_id="inv-1"), metadata=invoicing.metadata()
        ).invoice
        draft = stub.GetInvoice(
            pb.GetInvoiceRequest(invoice_id="inv-draft"), metadata=invoicing.metadata()
        ).invoice
        assert (partly.status, partly.HasField("paid_at")) == (pb.INVOICE_STATUS_PARTIALLY_PAID, False)
        assert (partly.amount_paid.amount, partly.amount_remaining.amount) == ("100.00", "19.00")
        assert draft.status == pb.INVOICE_STATUS_DRAFT

        asyncio.run(
            publish_all(invoicing.nats_url, [("payment-recorded:p2", payment("p2", "inv-1", "19.00"))])
        )
        settled = wait_for_status(stub, invoicing, "inv-1", pb.INVOICE_STATUS_PAID)
    assert settled.status == pb.INVOICE_STATUS_PAID
    with engine.connect() as conn:
        recorded = conn.execute(select(payments.c.payment_id, payments.c.amount, payments.c.currency)).all()
    assert sorted(recorded) == [("p-draft", "119.00", "EUR"), ("p1", "100.00", "EUR"), ("p2", "19.00", "EUR")]


def test_invoices_are_listed_newest_first_with_filters(invoicing, engine):
    seed_invoice(engine, "inv-a", created_at=datetime(2026, 5, 1, 1, tzinfo=UTC))
    seed_invoice(engine, "inv-b", created_at=datetime(2026, 5, 1, 2, tzinfo=UTC), customer_id="cus_bluth")
    seed_invoice(engine, "inv-c", created_at=datetime(2026, 5, 1, 3, tzinfo=UTC), status="DRAFT")
    with grpc.insecure_channel(invoicing.target) as channel:
        stub = pb_grpc.InvoicingServiceStub(channel)
        first = stub.ListInvoices(
            pb.ListInvoicesRequest(page=pagination_pb2.PageRequest(page_size=2)),
            metadata=invoicing.metadata(),
        )
        assert [i.id for i in first.invoices] == ["inv-c", "inv-b"]
        second = stub.ListInvoices(
            pb.ListInvoicesRequest(
                page=pagination_pb2.PageRequest(page_size=2, page_token=first.page.next_page_token)
            ),
            metadata=invoicing.metadata(),
        )
        assert [i.id for i in second.invoices] == ["inv-a"]
        assert second.page.next_page_token == ""
        acme_final = stub.ListInvoices(
            pb.ListInvoicesRequest(customer_id="cus_acme", status=pb.INVOICE_STATUS_FINALIZED),
            metadata=invoicing.metadata(),
        )
        assert [i.id for i in acme_final.invoices] == ["inv-a"]


def test_an_unknown_invoice_is_not_found(invoicing):
    with grpc.insecure_channel(invoicing.target) as channel:
        stub = pb_grpc.InvoicingServiceStub(channel)
        with pytest.raises(grpc.RpcError) as missing:
            stub.GetInvoice(pb.GetInvoiceRequest(invoice_id="nope"), metadata=invoicing.metadata())
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND
        assert [v.field for v in field_violations(missing.value)] == ["invoice_id"]
