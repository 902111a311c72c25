"""Payments applied in the ERPs are read back since each ERP's cursor and published as PaymentRecorded
through the outbox, with exact amounts, once each."""

import asyncio
import time
from datetime import UTC
from decimal import Decimal

import grpc
from erp_sync_world import (
    fake_erps,  # noqa: F401 - the fakes fixture
    invoice_message,
    posted_count,
    publish_all,
    records,
    start_erp_sync,
    stub,
    wait_until,
)
from sqlalchemy import insert, select

from tally.api.erp_sync.v1 import erp_sync_service_pb2 as pb
from tally.api.erp_sync.v1 import events_pb2
from tally.api.invoicing.v1 import invoicing_service_pb2 as invoicing_pb
from tally.api.invoicing.v1 import invoicing_service_pb2_grpc as invoicing_grpc
from tally.fake_erp import Fault
from tally.fake_erp.setup import Line, invoice_finalized
from tally.invoicing.tables import invoice_lines, invoices, payments
from tally.mesh import jetstream, streams
from tally.persistence.engine import create_engine
from tally.testing.services import ServiceProcess


async def payments_published(nats_url, settle_s):
    """Every PaymentRecorded on the stream once it has been quiet for ``settle_s``."""
    nc = await jetstream.connect(nats_url, name="test-invoicing-payments")
    try:
        sub = await nc.jetstream().subscribe(streams.PAYMENT_RECORDED, ordered_consumer=True)
        found = []
        while True:
            try:
                msg = await sub.next_msg(timeout=settle_s)
            except TimeoutError:
                return found
            found.append(
                (msg.headers.get(jetstream.MSG_ID_HEADER), events_pb2.PaymentRecorded.FromString(msg.data))
            )
    finally:
        await nc.close()


def invoicing_payments(invoicing):
    engine = create_engine(invoicing.database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(payments.c.amount)).all()
    finally:
        engine.dispose()


def recorded_payments(service):
    summary = stub(service).GetSyncSummary(pb.GetSyncSummaryRequest(), metadata=service.metadata())
    return sum(p.payments for p in summary.payments)


def test_payments_applied_in_the_erps_are_published_once_each_with_exact_amounts(
    tmp_path, nats_server, database_url, fakes
):
    netsuite, intacct = fakes
    service = start_erp_sync(tmp_path, nats_server.url, database_url, netsuite, intacct)
    try:
        publish_all(
            nats_server.url,
            [
                invoice_message(
                    invoice_finalized(
                        "inv-1",
                        customer_id="acme",
                        number="INV-2026-000001",
                        lines=[Line("Fee", "1000.00", "200.00")],
                    )
                ),
                invoice_message(
                    invoice_finalized(
                        "inv-2",
                        customer_id="tanaka",
                        number="INV-2026-000002",
                        currency="JPY",
                        lines=[Line("Fee", "12345", "1234")],
                    )
                ),
            ],
        )
        wait_until(
            lambda: posted_count(service) == 4,
            60,
            lambda: [(r.erp_key, r.last_error) for r in records(service)],
        )
        # Partly, then fully, in NetSuite; fully in one go in Intacct, read through a failing poll.
        netsuite.books.apply_payment("tally-inv-inv-1", Decimal("200.01"))
        intacct.faults.queue(Fault.SERVER_ERROR, Fault.TIMEOUT)
        intacct.books.apply_payment("tally-inv-inv-2", Decimal("13579"))
        time.sleep(1.0)
        netsuite.books.apply_payment("tally-inv-inv-1", Decimal("999.99"))

        def recorded():
            summary = stub(service).GetSyncSummary(pb.GetSyncSummaryRequest(), metadata=service.metadata())
            return sum(p.payments for p in summary.payments) == 3

        wait_until(recorded, 60, "3 payments recorded")
        time.sleep(1.5)  # several more polls over the same payments: nothing new may be published
        published = asyncio.run(payments_published(nats_server.url, settle_s=1.0))
        assert sorted(
            (event.erp, event.invoice_id, event.invoice_number, event.amount.amount, event.amount.currency)
            for _, event in published
        ) == [
            (pb.ERP_NETSUITE, "inv-1", "INV-2026-000001", "200.01", "USD"),
            (pb.ERP_NETSUITE, "inv-1", "INV-2026-000001", "999.99", "USD"),
            (pb.ERP_SAGE_INTACCT, "inv-2", "INV-2026-000002", "13579", "JPY"),
        ]
        ids = [event.payment_id for _, event in published]
        assert len(set(ids)) == 3
        assert [msg_id for msg_id, _ in published] == [f"payment-recorded:{pid}" for pid in ids]
        assert all(event.received_at.seconds > 0 and event.erp_reference for _, event in published)
    finally:
        service.kill()


def test_two_payments_in_netsuite_make_the_invoice_paid_in_invoicing_once_they_cover_it(
    tmp_path, nats_server, database_url, fakes
):
    """Through the real invoicing service: its finalized invoice (seeded in its own database, as its tests do),
    posted by erp-sync, paid in two parts in the fake NetSuite, each read back and applied by invoicing."""
    netsuite, _ = fakes
    invoicing = ServiceProcess(
        "invoicing",
        "tally.invoicing",
        f"sqlite:///{tmp_path / 'invoicing.db'}",
        nats_server.url,
        tmp_path / "invoicing",
    )
    invoicing.start()
    erp_sync = start_erp_sync(tmp_path, nats_server.url, database_url, netsuite, None)
    try:
        event = invoice_finalized(
            "inv-7",
            customer_id="cus_acme",
            number="INV-2026-000007",
            currency="EUR",
            lines=[Line("API calls", "100.00", "19.00")],
        )
        wire = event.invoice
        issued = wire.issued_at.ToDatetime(tzinfo=UTC)
        engine = create_engine(invoicing.database_url)
        with engine.begin() as conn:
            conn.execute(
                insert(invoices).values(
                    id=wire.id,
                    number=wire.number,
                    customer_id=wire.customer_id,
                    subscription_id="sub_1",
                    status="FINALIZED",
                    currency="EUR",
                    period_start=issued,
                    period_end=issued,
                    subtotal="100.00",
                    tax="19.00",
                    credits_applied="0.00",
                    total="119.00",
                    amount_due="119.00",
                    issued_at=issued,
                    due_at=wire.due_at.ToDatetime(tzinfo=UTC),
                    created_at=issued,
                    updated_at=issued,
                )
            )
            conn.execute(
                insert(invoice_lines).values(
                    id="inv-7-l1",
                    invoice_id="inv-7",
                    position=1,
                    kind="USAGE",
                    description="API calls",
                    charge_id="",
                    meter_id="",
                    quantity="1",
                    unit_price="100.00",
                    amount="100.00",
                    tax="19.00",
                    tax_rate_percent="19",
                    currency="EUR",
                    service_period_start=issued,
                    service_period_end=issued,
                )
            )
        engine.dispose()
        publish_all(nats_server.url, [invoice_message(event)])
        wait_until(
            lambda: posted_count(erp_sync) == 1,
            60,
            lambda: [(r.erp_key, r.last_error) for r in records(erp_sync)],
        )
        # Two payments: the first leaves the invoice PARTIALLY_PAID with 100.00 still due, the second covers it.
        netsuite.books.apply_payment("tally-inv-inv-7", Decimal("19.00"))
        wait_until(lambda: recorded_payments(erp_sync) == 1, 60, "the first payment recorded")
        with grpc.insecure_channel(invoicing.target) as channel:
            invoices_stub = invoicing_grpc.InvoicingServiceStub(channel)

            def status():
                return invoices_stub.GetInvoice(
                    invoicing_pb.GetInvoiceRequest(invoice_id="inv-7"), metadata=invoicing.metadata()
                ).invoice

            # Once invoicing has recorded the first payment, the invoice is partly paid.
            wait_until(
                lambda: len(invoicing_payments(invoicing)) == 1, 60, "invoicing recorded the first payment"
            )
            partly = status()
            assert partly.status == invoicing_pb.INVOICE_STATUS_PARTIALLY_PAID
            assert (partly.amount_paid.amount, partly.amount_remaining.amount) == ("19.00", "100.00")
            netsuite.books.apply_payment("tally-inv-inv-7", Decimal("100.00"))

            def paid():
                invoice = status()
                return invoice if invoice.status == invoicing_pb.INVOICE_STATUS_PAID else None

            invoice = wait_until(paid, 60, "invoice inv-7 PAID in invoicing")
        assert invoice.paid_at.seconds > 0
        assert (invoice.amount_paid.amount, invoice.amount_remaining.amount) == ("119.00", "0.00")
    finally:
        erp_sync.kill()
        invoicing.kill()
