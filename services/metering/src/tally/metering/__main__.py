"""``python -m tally.metering``: wiring only."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta
from pathlib import Path

from tally.api.metering.v1 import metering_service_pb2_grpc as pb_grpc
from tally.mesh import streams
from tally.mesh.vouching import UsageVoucher
from tally.metering.closed_periods import ClosedPeriodStore
from tally.metering.closing import CLOSING_CONSUMER, PeriodClosing
from tally.metering.corrections import EventCorrections, MeterRevisions
from tally.metering.corrections_store import CorrectionStore
from tally.metering.event_store import EventStore
from tally.metering.events import USAGE_CONSUMER
from tally.metering.handlers import (
    ConflictReview,
    MeterCatalog,
    QuarantineReview,
    UsageRecorder,
    UsageWatermarks,
)
from tally.metering.queries import EventListing, MeterValues, UsageReader
from tally.metering.recording.usage_recording import UsageRecording
from tally.metering.recording.writers import usage_writer
from tally.metering.server import SCOPES, SERVICE, MeteringServicer
from tally.metering.settings import MeteringSettings
from tally.metering.store import ConflictStore, MeterStore, QuarantineStore
from tally.metering.usage_store import UsageStore
from tally.metering.watermark import WatermarkStore
from tally.runtime.process import Consumer, Runtime, ServiceDefinition, Wiring, main

MIGRATIONS = Path(__file__).resolve().parents[3] / "migrations"

_log = logging.getLogger("tally.metering")


async def wire(runtime: Runtime[MeteringSettings]) -> Wiring:
    store = MeterStore(runtime.engine)
    # Every start restates the meters, so a consumer's projection never depends on the stream still holding
    # the events of meters defined long ago (ingestion on a new database, say).
    await asyncio.to_thread(store.announce_all, uuid.uuid4().hex)
    catalog = MeterCatalog(store)
    events = EventStore(runtime.engine)
    corrections = CorrectionStore(runtime.engine)
    servicer = MeteringServicer(
        catalog,
        MeterRevisions(catalog, corrections),
        UsageReader(UsageStore(runtime.engine)),
        EventListing(events),
        EventCorrections(corrections),
        MeterValues(events),
        QuarantineReview(QuarantineStore(runtime.engine)),
        UsageWatermarks(WatermarkStore(runtime.engine)),
        ConflictReview(ConflictStore(runtime.engine)),
    )
    keys = runtime.settings.usage_signing_keys
    if keys is None:
        _log.warning(
            "TALLY_USAGE_SIGNING_KEY is unset: usage messages are counted without checking ingestion's voucher"
        )
    recorder = UsageRecorder(
        UsageRecording(usage_writer(runtime.engine, keep_connection=True)),
        UsageVoucher(keys) if keys else None,
    )

    async def close_recorder() -> None:
        await asyncio.to_thread(recorder.close)

    return Wiring(
        registrations=[(pb_grpc.add_MeteringServiceServicer_to_server, servicer)],
        service_names=[SERVICE],
        scopes=SCOPES,
        consumers=[
            # Several fetch loops on the one durable consumer, so the next fetch is decoded and prepared
            # while the previous one commits (UsageRecorder serialises the writes).
            *(
                Consumer(USAGE_CONSUMER, together=recorder.handle, batch=runtime.settings.fetch_batch)
                for _ in range(runtime.settings.fetch_loops)
            ),
            # A billing run finalizes many invoices at once: their closes share a transaction (one usage lock).
            Consumer(
                CLOSING_CONSUMER,
                together=PeriodClosing(
                    ClosedPeriodStore(runtime.engine),
                    margin=timedelta(seconds=runtime.settings.close_margin_s),
                ).handle,
                batch=100,
            ),
        ],
        on_shutdown=[close_recorder],
    )


DEFINITION = ServiceDefinition(
    "metering",
    MIGRATIONS,
    MeteringSettings,
    wire,
    streams=[streams.USAGE, streams.METERING, streams.INVOICING],
)

if __name__ == "__main__":
    main(DEFINITION)
