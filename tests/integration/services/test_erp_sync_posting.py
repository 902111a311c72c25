"""erp-sync posts through the real netsuitesdk and sageintacctsdk (and its own NetSuite REST client) to fake
ERPs on loopback, exactly once whatever the faults, and reconciles against them."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from erp_sync_world import (
    credit_note_message,
    fake_erps,  # noqa: F401 - the fakes fixture
    invoice_message,
    posted_count,
    publish_all,
    records,
    start_erp_sync,
    stub,
    wait_until,
)

from tally.api.erp_sync.v1 import erp_sync_service_pb2 as pb
from tally.fake_erp import Fault
from tally.fake_erp.books import CREDIT_MEMO, CUSTOMER, INVOICE, BookEntry, BookLine
from tally.fake_erp.setup import Line, credit_note_issued, invoice_finalized
from tally.mesh.wire import timestamp_to_wire

ACME_INVOICE = invoice_finalized(
    "inv-1",
    customer_id="acme",
    number="INV-2026-000001",
    lines=[Line("API calls", "1200.10", "240.02"), Line("Seats", "99.99", "20.00")],
    credits="100.00",
)
TANAKA_INVOICE = invoice_finalized(
    "inv-2",
    customer_id="tanaka",
    number="INV-2026-000002",
    currency="JPY",
    lines=[Line("API calls", "12345", "1234")],
)
ACME_NOTE = credit_note_issued(
    "cn-1",
    invoice_id="inv-1",
    customer_id="acme",
    number="CN-2026-000001",
    lines=[Line("Refund of seats", "99.99", "20.00")],
)
DOCUMENTS = [invoice_message(ACME_INVOICE), invoice_message(TANAKA_INVOICE), credit_note_message(ACME_NOTE)]


def test_invoices_and_credit_notes_are_posted_once_to_both_erps_despite_faults(
    tmp_path, nats_server, database_url, fakes
):
    netsuite, intacct = fakes
    # Each ERP's first calls fail in every way the fakes know, a write applied then dropped included.
    netsuite.faults.queue(Fault.APPLIED_THEN_DROPPED, Fault.TIMEOUT, Fault.RATE_LIMITED, Fault.SERVER_ERROR)
    intacct.faults.queue(Fault.RATE_LIMITED, Fault.SERVER_ERROR, Fault.TIMEOUT)
    service = start_erp_sync(tmp_path, nats_server.url, database_url, netsuite, intacct)
    try:
        publish_all(nats_server.url, DOCUMENTS)
        wait_until(
            lambda: posted_count(service) == 6,
            60,
            lambda: f"6 records POSTED: {[(r.erp_key, r.state, r.last_error) for r in records(service)]}",
        )
        for books in (netsuite.books, intacct.books):
            # 1,200.10 + 240.02 + 99.99 + 20.00 − 100.00 of prepaid credit: the amount due.
            assert [e.amount for e in books.find(INVOICE, "tally-inv-inv-1")] == [Decimal("1460.11")]
            assert [e.amount for e in books.find(INVOICE, "tally-inv-inv-2")] == [Decimal("13579")]
            assert len(books.find(CUSTOMER, "tally-cus-acme")) == 1
        assert [e.amount for e in netsuite.books.find(CREDIT_MEMO, "tally-cn-cn-1")] == [Decimal("119.99")]
        # Intacct books a credit as a negative AR adjustment.
        assert [e.amount for e in intacct.books.find(CREDIT_MEMO, "tally-cn-cn-1")] == [Decimal("-119.99")]
        by_key = {(r.erp, r.erp_key): r for r in records(service)}
        for erp, books in ((pb.ERP_NETSUITE, netsuite.books), (pb.ERP_SAGE_INTACCT, intacct.books)):
            (posted,) = books.find(INVOICE, "tally-inv-inv-1")
            assert by_key[(erp, "tally-inv-inv-1")].erp_internal_id == posted.internal_id
        assert sum(netsuite.faults.injected.values()) >= 4 and sum(intacct.faults.injected.values()) >= 3
        summary = stub(service).GetSyncSummary(pb.GetSyncSummaryRequest(), metadata=service.metadata())
        assert sorted((c.erp, c.state, c.records) for c in summary.counts) == [
            (pb.ERP_NETSUITE, pb.SYNC_STATE_POSTED, 3),
            (pb.ERP_SAGE_INTACCT, pb.SYNC_STATE_POSTED, 3),
        ]
    finally:
        service.kill()


def test_netsuite_over_rest_posts_once_and_reconciles(tmp_path, nats_server, database_url, fakes):
    netsuite, _ = fakes
    netsuite.faults.queue(Fault.APPLIED_THEN_DROPPED, Fault.RATE_LIMITED, Fault.TIMEOUT)
    service = start_erp_sync(tmp_path, nats_server.url, database_url, netsuite, None, netsuite_api="rest")
    try:
        publish_all(nats_server.url, DOCUMENTS)
        wait_until(
            lambda: posted_count(service) == 3,
            60,
            lambda: [(r.erp_key, r.last_error) for r in records(service)],
        )
        assert [e.amount for e in netsuite.books.find(INVOICE, "tally-inv-inv-1")] == [Decimal("1460.11")]
        assert [e.amount for e in netsuite.books.find(CREDIT_MEMO, "tally-cn-cn-1")] == [Decimal("119.99")]
        (note,) = netsuite.books.find(CREDIT_MEMO, "tally-cn-cn-1")
        assert note.applies_to == netsuite.books.find(INVOICE, "tally-inv-inv-1")[0].internal_id
        reply = reconcile(service, pb.ERP_NETSUITE)
        assert (reply.documents_checked, list(reply.mismatches)) == (3, [])
    finally:
        service.kill()


def reconcile(service, erp):
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    period = {
        "start": timestamp_to_wire(today - timedelta(days=1)),
        "end": timestamp_to_wire(today + timedelta(days=1)),
    }
    return stub(service).Reconcile(pb.ReconcileRequest(erp=erp, period=period), metadata=service.metadata())


@pytest.mark.parametrize("erp", [pb.ERP_NETSUITE, pb.ERP_SAGE_INTACCT])
def test_reconcile_reports_a_document_deleted_an_amount_changed_and_one_tally_never_issued(
    tmp_path, nats_server, postgres_url, fakes, erp
):
    netsuite, intacct = fakes
    service = start_erp_sync(tmp_path, nats_server.url, postgres_url, netsuite, intacct)
    try:
        publish_all(nats_server.url, DOCUMENTS)
        wait_until(
            lambda: posted_count(service) == 6,
            60,
            lambda: [(r.erp_key, r.last_error) for r in records(service)],
        )
        assert list(reconcile(service, erp).mismatches) == []
        books = netsuite.books if erp == pb.ERP_NETSUITE else intacct.books
        books.delete(INVOICE, "tally-inv-inv-2")
        books.set_amount(INVOICE, "tally-inv-inv-1", Decimal("1460.10"))
        (customer,) = books.find(CUSTOMER, "tally-cus-acme")
        currency = "1" if erp == pb.ERP_NETSUITE else "USD"
        books.create(
            BookEntry(
                INVOICE,
                "",
                "tally-inv-stray",
                customer=customer.internal_id,
                currency=currency,
                amount=Decimal("5.00"),
                day=datetime.now(UTC).date(),
                lines=(BookLine("501", Decimal("5.00")),),
            )
        )
        reply = reconcile(service, erp)
        assert reply.documents_checked == 3
        assert [
            (
                m.kind,
                m.erp_key,
                m.tally_amount.amount,
                m.erp_amount.amount,
                m.tally_amount.currency or m.erp_amount.currency,
            )
            for m in reply.mismatches
        ] == [
            (pb.MISMATCH_KIND_AMOUNT_DIFFERS, "tally-inv-inv-1", "1460.11", "1460.10", "USD"),
            (pb.MISMATCH_KIND_MISSING_IN_ERP, "tally-inv-inv-2", "13579", "", "JPY"),
            (pb.MISMATCH_KIND_MISSING_IN_TALLY, "tally-inv-stray", "", "5.00", "USD"),
        ]
        assert reply.mismatches[0].document_number == "INV-2026-000001"
    finally:
        service.kill()
