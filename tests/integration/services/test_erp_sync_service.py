import time

import grpc
import pytest
from erp_sync_world import publish_all

from tally.api.erp_sync.v1 import erp_sync_service_pb2 as pb
from tally.api.erp_sync.v1 import erp_sync_service_pb2_grpc as pb_grpc
from tally.fake_erp.setup import Line, credit_note_issued, invoice_finalized
from tally.mesh import streams
from tally.mesh.errors import field_violations
from tally.testing.services import ServiceProcess


@pytest.fixture
def erp_sync(tmp_path, nats_server, database_url):
    """Both ERPs enabled but neither configured: documents are queued, and stay PENDING."""
    service = ServiceProcess(
        "erp_sync",
        "tally.erp_sync",
        database_url,
        nats_server.url,
        tmp_path / "erp_sync",
        env={"TALLY_ERP_TARGETS": "netsuite, sage_intacct"},
    )
    service.start()
    yield service
    service.kill()


def finalized(invoice_id):
    return invoice_finalized(
        invoice_id, customer_id="acme", number="INV-2026-000001", lines=[Line("Fee", "49.00", "9.80")]
    )


def records(stub, service, **filters):
    reply = stub.ListSyncRecords(pb.ListSyncRecordsRequest(**filters), metadata=service.metadata())
    return sorted(
        (r.erp, r.document_kind, r.document_id, r.erp_key, r.state, r.attempts) for r in reply.records
    )


def wait_for_count(stub, service, count, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = records(stub, service)
        if len(found) >= count:
            return found
        time.sleep(0.1)
    return records(stub, service)


def test_a_finalized_invoice_is_queued_once_for_every_enabled_erp(erp_sync):
    publish_all(
        erp_sync.nats_url,
        [
            (streams.INVOICE_FINALIZED, "invoice-finalized:inv-1", finalized("inv-1")),
            # The same invoice announced again under another message id must add nothing.
            (streams.INVOICE_FINALIZED, "invoice-finalized:inv-1:again", finalized("inv-1")),
            (
                streams.CREDIT_NOTE_ISSUED,
                "credit-note-issued:cn-1",
                credit_note_issued(
                    "cn-1",
                    invoice_id="inv-1",
                    customer_id="acme",
                    number="CN-2026-000001",
                    lines=[Line("Fee", "49.00")],
                ),
            ),
        ],
    )
    with grpc.insecure_channel(erp_sync.target) as channel:
        stub = pb_grpc.ErpSyncServiceStub(channel)
        found = wait_for_count(stub, erp_sync, 4)
        assert found == [
            (pb.ERP_NETSUITE, pb.DOCUMENT_KIND_INVOICE, "inv-1", "tally-inv-inv-1", pb.SYNC_STATE_PENDING, 0),
            (
                pb.ERP_NETSUITE,
                pb.DOCUMENT_KIND_CREDIT_NOTE,
                "cn-1",
                "tally-cn-cn-1",
                pb.SYNC_STATE_PENDING,
                0,
            ),
            (
                pb.ERP_SAGE_INTACCT,
                pb.DOCUMENT_KIND_INVOICE,
                "inv-1",
                "tally-inv-inv-1",
                pb.SYNC_STATE_PENDING,
                0,
            ),
            (
                pb.ERP_SAGE_INTACCT,
                pb.DOCUMENT_KIND_CREDIT_NOTE,
                "cn-1",
                "tally-cn-cn-1",
                pb.SYNC_STATE_PENDING,
                0,
            ),
        ]
        # The invoice consumer handles messages in order: once inv-2 is in, the duplicate was handled too.
        publish_all(
            erp_sync.nats_url,
            [(streams.INVOICE_FINALIZED, "invoice-finalized:inv-2", finalized("inv-2"))],
        )
        found = wait_for_count(stub, erp_sync, 6)
        assert [(r[2], r[3]) for r in found if r[1] == pb.DOCUMENT_KIND_INVOICE] == [
            ("inv-1", "tally-inv-inv-1"),
            ("inv-2", "tally-inv-inv-2"),
            ("inv-1", "tally-inv-inv-1"),
            ("inv-2", "tally-inv-inv-2"),
        ]
        assert len(found) == 6

        assert records(
            stub, erp_sync, erp=pb.ERP_SAGE_INTACCT, document_kind=pb.DOCUMENT_KIND_CREDIT_NOTE
        ) == [
            (
                pb.ERP_SAGE_INTACCT,
                pb.DOCUMENT_KIND_CREDIT_NOTE,
                "cn-1",
                "tally-cn-cn-1",
                pb.SYNC_STATE_PENDING,
                0,
            )
        ]
        assert records(stub, erp_sync, state=pb.SYNC_STATE_POSTED) == []
        summary = stub.GetSyncSummary(pb.GetSyncSummaryRequest(), metadata=erp_sync.metadata())
        assert list(summary.unconfigured) == [pb.ERP_NETSUITE, pb.ERP_SAGE_INTACCT]

        status = stub.GetSyncStatus(
            pb.GetSyncStatusRequest(document_kind=pb.DOCUMENT_KIND_INVOICE, document_id="inv-1"),
            metadata=erp_sync.metadata(),
        )
        assert [(r.erp, r.erp_key, r.state) for r in status.records] == [
            (pb.ERP_NETSUITE, "tally-inv-inv-1", pb.SYNC_STATE_PENDING),
            (pb.ERP_SAGE_INTACCT, "tally-inv-inv-1", pb.SYNC_STATE_PENDING),
        ]


def test_sync_records_page_and_unknown_documents_are_not_found(erp_sync):
    publish_all(
        erp_sync.nats_url,
        [(streams.INVOICE_FINALIZED, f"invoice-finalized:inv-{i}", finalized(f"inv-{i}")) for i in range(3)],
    )
    with grpc.insecure_channel(erp_sync.target) as channel:
        stub = pb_grpc.ErpSyncServiceStub(channel)
        assert len(wait_for_count(stub, erp_sync, 6)) == 6
        seen = []
        token = ""
        pages = 0
        while True:
            reply = stub.ListSyncRecords(
                pb.ListSyncRecordsRequest(page={"page_size": 4, "page_token": token}),
                metadata=erp_sync.metadata(),
            )
            seen.extend(r.id for r in reply.records)
            pages += 1
            token = reply.page.next_page_token
            if not token:
                break
        assert (pages, len(seen), len(set(seen))) == (2, 6, 6)

        with pytest.raises(grpc.RpcError) as missing:
            stub.GetSyncStatus(
                pb.GetSyncStatusRequest(document_kind=pb.DOCUMENT_KIND_INVOICE, document_id="inv-unknown"),
                metadata=erp_sync.metadata(),
            )
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND
        assert [v.field for v in field_violations(missing.value)] == ["document_id"]
