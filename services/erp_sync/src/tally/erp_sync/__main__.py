"""``python -m tally.erp_sync``: wiring only."""

from __future__ import annotations

from pathlib import Path

from tally.api.erp_sync.v1 import erp_sync_service_pb2_grpc as pb_grpc
from tally.erp_sync.domain import DocumentKind
from tally.erp_sync.events import CREDIT_NOTES_CONSUMER, INVOICES_CONSUMER
from tally.erp_sync.handlers import SyncQueue, SyncReports
from tally.erp_sync.server import SCOPES, SERVICE, ErpSyncServicer
from tally.erp_sync.settings import ErpSyncSettings
from tally.erp_sync.store import SyncLedger
from tally.mesh import streams
from tally.runtime.process import Consumer, Runtime, ServiceDefinition, Wiring, main

MIGRATIONS = Path(__file__).resolve().parents[3] / "migrations"


async def wire(runtime: Runtime[ErpSyncSettings]) -> Wiring:
    ledger = SyncLedger(runtime.engine)
    queue = SyncQueue(ledger, runtime.settings.erp_targets)
    return Wiring(
        registrations=[(pb_grpc.add_ErpSyncServiceServicer_to_server, ErpSyncServicer(SyncReports(ledger)))],
        service_names=[SERVICE],
        scopes=SCOPES,
        consumers=[
            Consumer(INVOICES_CONSUMER, queue.handler(INVOICES_CONSUMER.durable, DocumentKind.INVOICE)),
            Consumer(
                CREDIT_NOTES_CONSUMER, queue.handler(CREDIT_NOTES_CONSUMER.durable, DocumentKind.CREDIT_NOTE)
            ),
        ],
    )


DEFINITION = ServiceDefinition(
    "erp_sync", MIGRATIONS, ErpSyncSettings, wire, streams=[streams.INVOICING, streams.ERP]
)

if __name__ == "__main__":
    main(DEFINITION)
