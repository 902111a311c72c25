"""Helpers of erp-sync's integration tests: fakes, the service pointed at them, documents published as
invoicing publishes them, and the ledger read back over gRPC."""

import asyncio
import time

import grpc
import pytest

from tally.api.erp_sync.v1 import erp_sync_service_pb2 as pb
from tally.api.erp_sync.v1 import erp_sync_service_pb2_grpc as pb_grpc
from tally.fake_erp.setup import MAPPING, erp_sync_environment, fake_intacct, fake_netsuite
from tally.mesh import jetstream, streams
from tally.testing.services import ServiceProcess

# A mapping naming an item and a GL account the fakes do not have: every posting is refused.
BROKEN = MAPPING.replace('income_item = "501"', 'income_item = "599"').replace(
    'income_item = "4000"', 'income_item = "4999"'
)

FAST_RETRIES = {
    "TALLY_ERP_TIMEOUT_SECONDS": "1",
    "TALLY_ERP_BACKOFF_SECONDS": "0.05",
    "TALLY_ERP_BACKOFF_MAX_SECONDS": "0.5",
    "TALLY_ERP_PAYMENT_POLL_SECONDS": "0.3",
}


@pytest.fixture(name="fakes")
def fake_erps():
    """A fake NetSuite and a fake Intacct; import ``fake_erps`` to use the ``fakes`` fixture."""
    netsuite = fake_netsuite().start()
    intacct = fake_intacct().start()
    netsuite.faults.stall_s = intacct.faults.stall_s = 1.5
    yield netsuite, intacct
    netsuite.stop()
    intacct.stop()


def start_erp_sync(
    tmp_path, nats_url, database_url, netsuite, intacct, *, netsuite_api="soap", mapping=None, **overrides
):
    kwargs = {"mapping": mapping} if mapping else {}
    env = erp_sync_environment(
        tmp_path / "erp", netsuite=netsuite, intacct=intacct, netsuite_api=netsuite_api, **kwargs
    )
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


def stub(service):
    return pb_grpc.ErpSyncServiceStub(grpc.insecure_channel(service.target))


def posted_count(service):
    return len(records(service, state=pb.SYNC_STATE_POSTED))


def invoice_message(event):
    return (streams.INVOICE_FINALIZED, f"invoice-finalized:{event.invoice.id}", event)


def credit_note_message(event):
    return (streams.CREDIT_NOTE_ISSUED, f"credit-note-issued:{event.credit_note.id}", event)


def publish_all(nats_url, messages):
    asyncio.run(publish(nats_url, messages))
