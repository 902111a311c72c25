"""A document the ERP refuses stays FAILED with the ERP's message; RetrySync after the mapping is fixed posts
it, once."""

import grpc
import pytest
from erp_sync_world import (
    BROKEN,
    fake_erps,  # noqa: F401 - the fakes fixture
    invoice_message,
    publish_all,
    records,
    start_erp_sync,
    stub,
    wait_until,
)

from tally.api.erp_sync.v1 import erp_sync_service_pb2 as pb
from tally.fake_erp.books import INVOICE
from tally.fake_erp.setup import MAPPING, Line, invoice_finalized
from tally.mesh.errors import field_violations


def test_a_refused_document_fails_with_the_erps_message_and_posts_once_after_the_mapping_is_fixed(
    tmp_path, nats_server, database_url, fakes
):
    netsuite, intacct = fakes
    service = start_erp_sync(tmp_path, nats_server.url, database_url, netsuite, intacct, mapping=BROKEN)
    try:
        invoice = invoice_finalized(
            "inv-9", customer_id="acme", number="INV-2026-000009", lines=[Line("Fee", "49.00", "9.80")]
        )
        publish_all(nats_server.url, [invoice_message(invoice)])
        failed = wait_until(
            lambda: (found := records(service, state=pb.SYNC_STATE_FAILED)) and len(found) == 2 and found,
            60,
            lambda: [(r.erp_key, r.state, r.last_error) for r in records(service)],
        )
        errors = {r.erp: (r.last_error, r.attempts) for r in failed}
        # Refused at once, with the ERP's own words: a validation error is not retried.
        assert errors == {
            pb.ERP_NETSUITE: (
                "INVALID_KEY_OR_REF: An error occured in a upsert request: Invalid item reference key '599'.",
                1,
            ),
            pb.ERP_SAGE_INTACCT: ("Invalid item reference key '4999'.", 1),
        }
        assert netsuite.books.find(INVOICE, "tally-inv-inv-9") == []

        erp_sync = stub(service)
        mapping_file = tmp_path / "erp" / "erp-mapping.toml"
        mapping_file.write_text(BROKEN.replace("[netsuite]", '[netsuite]\nincome_itm = "501"'))
        with pytest.raises(grpc.RpcError) as refused:
            erp_sync.RetrySync(pb.RetrySyncRequest(sync_record_id=failed[0].id), metadata=service.metadata())
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "netsuite.income_itm is not a mapping key" in refused.value.details()
        assert [v.field for v in field_violations(refused.value)] == ["sync_record_id"]

        mapping_file.write_text(MAPPING)
        for record in failed:
            reply = erp_sync.RetrySync(
                pb.RetrySyncRequest(sync_record_id=record.id), metadata=service.metadata()
            )
            assert (reply.record.state, reply.record.attempts) == (pb.SYNC_STATE_PENDING, 0)
        wait_until(
            lambda: len(records(service, state=pb.SYNC_STATE_POSTED)) == 2,
            60,
            lambda: [(r.erp_key, r.state, r.last_error) for r in records(service)],
        )
        for books in (netsuite.books, intacct.books):
            (posted,) = books.find(INVOICE, "tally-inv-inv-9")
            assert str(posted.amount) == "58.80"

        with pytest.raises(grpc.RpcError) as posted_already:
            erp_sync.RetrySync(pb.RetrySyncRequest(sync_record_id=failed[0].id), metadata=service.metadata())
        assert posted_already.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        with pytest.raises(grpc.RpcError) as unknown:
            erp_sync.RetrySync(pb.RetrySyncRequest(sync_record_id="nope"), metadata=service.metadata())
        assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
        reader = service.add_key("reader", ["erp:read"])
        service.stop()
        service.start()
        with pytest.raises(grpc.RpcError) as denied:
            stub(service).RetrySync(
                pb.RetrySyncRequest(sync_record_id=failed[0].id), metadata=service.metadata(reader)
            )
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    finally:
        service.kill()
