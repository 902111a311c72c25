"""``python -m tally.erp_sync``: wiring only."""

from __future__ import annotations

import logging
import random
from datetime import timedelta
from pathlib import Path

from tally.api.erp_sync.v1 import erp_sync_service_pb2_grpc as pb_grpc
from tally.erp_sync.connections import configured_adapters
from tally.erp_sync.domain import DocumentKind
from tally.erp_sync.events import CREDIT_NOTES_CONSUMER, INVOICES_CONSUMER
from tally.erp_sync.handlers import SyncQueue, SyncReports, SyncRetry
from tally.erp_sync.mapping_file import MappingFile
from tally.erp_sync.payment_book import PaymentBook
from tally.erp_sync.payment_poller import PaymentPoller
from tally.erp_sync.poster import Poster
from tally.erp_sync.posting import RetryPolicy
from tally.erp_sync.reconciler import Reconciler
from tally.erp_sync.server import SCOPES, SERVICE, ErpSyncServicer
from tally.erp_sync.settings import ErpSyncSettings
from tally.erp_sync.store import SyncLedger
from tally.mesh import streams
from tally.mesh.settings import SettingsError
from tally.runtime.process import Consumer, Runtime, ServiceDefinition, Wiring, main

MIGRATIONS = Path(__file__).resolve().parents[3] / "migrations"
_log = logging.getLogger("tally.erp_sync")


async def wire(runtime: Runtime[ErpSyncSettings]) -> Wiring:
    s = runtime.settings
    try:
        adapters = configured_adapters(s)
    except SettingsError as exc:  # the REST key file could not be read
        _log.error("%s", exc)
        raise SystemExit(2) from None
    mappings = MappingFile(s.mapping_file, tuple(adapters)) if adapters and s.mapping_file else None
    for erp in s.erp_targets:
        if erp not in adapters:
            _log.warning("%s has no connection settings: its documents are queued but not posted", erp.value)
    ledger = SyncLedger(runtime.engine)
    payments = PaymentBook(runtime.engine)
    background = []
    wake = lambda: None  # noqa: E731 - nothing to wake without a configured ERP
    if adapters and mappings is not None:
        poster = Poster(
            ledger,
            adapters,
            mappings,
            policy=RetryPolicy(s.max_attempts, s.backoff_base_s, s.backoff_cap_s),
            concurrency=s.concurrency,
            lease=timedelta(seconds=s.lease_s),
            draw=random.SystemRandom().random,
        )
        poller = PaymentPoller(payments, ledger, adapters, interval_s=s.payment_poll_s)
        background = [poster.run, poller.run]
        wake = poster.wake
    queue = SyncQueue(ledger, s.erp_targets, on_queued=wake)
    servicer = ErpSyncServicer(
        SyncReports(ledger, payments, s.erp_targets, tuple(adapters)),
        SyncRetry(ledger, mappings, on_queued=wake),
        Reconciler(ledger, adapters, mappings),
    )
    return Wiring(
        registrations=[(pb_grpc.add_ErpSyncServiceServicer_to_server, servicer)],
        service_names=[SERVICE],
        scopes=SCOPES,
        consumers=[
            Consumer(INVOICES_CONSUMER, queue.handler(INVOICES_CONSUMER.durable, DocumentKind.INVOICE)),
            Consumer(
                CREDIT_NOTES_CONSUMER, queue.handler(CREDIT_NOTES_CONSUMER.durable, DocumentKind.CREDIT_NOTE)
            ),
        ],
        background=background,
    )


DEFINITION = ServiceDefinition(
    "erp_sync", MIGRATIONS, ErpSyncSettings, wire, streams=[streams.INVOICING, streams.ERP]
)

if __name__ == "__main__":
    main(DEFINITION)
