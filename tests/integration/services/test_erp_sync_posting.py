"""erp-sync posts through the real netsuitesdk and sageintacctsdk to fake ERPs on loopback."""

import asyncio
import time
from decimal import Decimal

import grpc
import pytest

from tally.api.erp_sync.v1 import erp_sync_service_pb2 as pb
from tally.api.erp_sync.v1 import erp_sync_service_pb2_grpc as pb_grpc
from tally.fake_erp import Fault
from tally.fake_erp.books import CREDIT_MEMO, CUSTOMER, INVOICE
from tally.fake_erp.setup import (
    Line,
    credit_note_issued,
    erp_sync_environment,
    fake_intacct,
    fake_netsuite,
    invoice_finalized,
)
from tally.mesh import jetstream, streams
from tally.testing.services import ServiceProcess

FAST_RETRIES = {
    "TALLY_ERP_TIMEOUT_SECONDS": "1",
    "TALLY_ERP_BACKOFF_SECONDS": "0.05",
    "TALLY_ERP_BACKOFF_MAX_SECONDS": "0.5",
    "TALLY_ERP_PAYMENT_POLL_SECONDS": "0.3",
}


@pytest.fixture
def fakes():
    netsuite = fake_netsuite().start()
    intacct = fake_intacct().start()
    netsuite.faults.stall_s = intacct.faults.stall_s = 1.5
    yield netsuite, intacct
    netsuite.stop()
    intacct.stop()


def start_erp_sync(tmp_path, nats_url, database_url, netsuite, intacct, **overrides):
    env = erp_sync_environment(tmp_path / "erp", netsuite=netsuite, intacct=intacct)
    env.update(FAST_RETRIES)
    env.update(overrides)
    service = ServiceProcess(
        "erp_sync", "tally.erp_sync", database_url, nats_url, tmp_path / "erp_sync", env=env
    )
    service.start()
    return service


async def publish(nats_url, messages):
    nc = await jetstream.connect(nats_url, name="test-invoicing")
    try:
        js = nc.jetstream()
        for subject, msg_id, message in messages:
            await jetstream.publish(js, subject, message.SerializeToString(), msg_id)
    finally:
        await nc.close()


def records(service, **filters):
    with grpc.insecure_channel(service.target) as channel:
        stub = pb_grpc.ErpSyncServiceStub(channel)
        found, token = [], ""
        while True:
            reply = stub.ListSyncRecords(
                pb.ListSyncRecordsRequest(page={"page_size": 500, "page_token": token}, **filters),
                metadata=service.metadata(),
            )
            found += reply.records
            token = reply.page.next_page_token
            if not token:
                return found


def wait_until(condition, timeout, what):
    """Poll ``condition`` until true; the timeout is generous for a loaded machine, not a speed claim."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout}s: {what}")


def test_invoices_and_credit_notes_are_posted_once_to_both_erps_despite_faults(
    tmp_path, nats_server, database_url, fakes
):
    netsuite, intacct = fakes
    # Each ERP's first calls fail in every way the fakes know, writes applied-then-dropped included.
    netsuite.faults.queue(Fault.APPLIED_THEN_DROPPED, Fault.TIMEOUT, Fault.RATE_LIMITED, Fault.SERVER_ERROR)
    intacct.faults.queue(Fault.RATE_LIMITED, Fault.SERVER_ERROR, Fault.TIMEOUT)
    service = start_erp_sync(tmp_path, nats_server.url, database_url, netsuite, intacct)
    try:
        asyncio.run(
            publish(
                nats_server.url,
                [
                    (
                        streams.INVOICE_FINALIZED,
                        "invoice-finalized:inv-1",
                        invoice_finalized(
                            "inv-1",
                            customer_id="acme",
                            number="INV-2026-000001",
                            lines=[Line("API calls", "1200.10", "240.02"), Line("Seats", "99.99", "20.00")],
                            credits="100.00",
                        ),
                    ),
                    (
                        streams.INVOICE_FINALIZED,
                        "invoice-finalized:inv-2",
                        invoice_finalized(
                            "inv-2",
                            customer_id="tanaka",
                            number="INV-2026-000002",
                            currency="JPY",
                            lines=[Line("API calls", "12345", "1234")],
                        ),
                    ),
                    (
                        streams.CREDIT_NOTE_ISSUED,
                        "credit-note-issued:cn-1",
                        credit_note_issued(
                            "cn-1",
                            invoice_id="inv-1",
                            customer_id="acme",
                            number="CN-2026-000001",
                            lines=[Line("Refund of seats", "99.99", "20.00")],
                        ),
                    ),
                ],
            )
        )
        wait_until(
            lambda: len(records(service, state=pb.SYNC_STATE_POSTED)) == 6,
            60,
            f"6 records POSTED: {[(r.erp_key, r.state, r.last_error) for r in records(service)]}",
        )
        for books in (netsuite.books, intacct.books):
            assert [e.amount for e in books.find(INVOICE, "tally-inv-inv-1")] == [Decimal("1460.11")]
            assert [e.amount for e in books.find(INVOICE, "tally-inv-inv-2")] == [Decimal("13579")]
            assert len(books.find(CUSTOMER, "tally-cus-acme")) == 1
        assert [e.amount for e in netsuite.books.find(CREDIT_MEMO, "tally-cn-cn-1")] == [Decimal("119.99")]
        # Intacct books a credit as a negative AR adjustment.
        assert [e.amount for e in intacct.books.find(CREDIT_MEMO, "tally-cn-cn-1")] == [Decimal("-119.99")]
        posted = {(r.erp, r.erp_key): r.erp_internal_id for r in records(service)}
        assert (
            posted[(pb.ERP_NETSUITE, "tally-inv-inv-1")]
            == netsuite.books.find(INVOICE, "tally-inv-inv-1")[0].internal_id
        )
        assert (
            posted[(pb.ERP_SAGE_INTACCT, "tally-inv-inv-1")]
            == intacct.books.find(INVOICE, "tally-inv-inv-1")[0].internal_id
        )
    finally:
        service.kill()
