"""Payments applied in the ERPs are read back since each ERP's cursor and published as PaymentRecorded
through the outbox, with exact amounts, once each."""

import asyncio
import time
from decimal import Decimal

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

from tally.api.erp_sync.v1 import erp_sync_service_pb2 as pb
from tally.api.erp_sync.v1 import events_pb2
from tally.fake_erp import Fault
from tally.fake_erp.setup import Line, invoice_finalized
from tally.mesh import jetstream, streams


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
