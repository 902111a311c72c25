"""``python -m tally.ingestion``: wiring only."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tally.api.ingestion.v1 import ingestion_service_pb2_grpc as pb_grpc
from tally.ingestion.events import METER_PROJECTION, MeterChangedHandler
from tally.ingestion.handlers import Ingestor, ProducerAdmin
from tally.ingestion.producer_keys import ProducerKeyVerifier
from tally.ingestion.publisher import BatchPublisher
from tally.ingestion.rate_limits import ProducerRateLimits, Rate
from tally.ingestion.rejected_retention import RejectedRetention
from tally.ingestion.rejection_buffer import BufferedRejections
from tally.ingestion.server import (
    ADMIN_SERVICE,
    SCOPES,
    SERVICE,
    IngestionAdminServicer,
    IngestionServicer,
    add_ingestion_service,
)
from tally.ingestion.settings import IngestionSettings
from tally.ingestion.store import MeterProjection, ProducerStore, RejectedBounds, RejectedLog
from tally.ingestion.value_properties import ValuePropertyIndex
from tally.mesh import streams
from tally.mesh.server import MAX_MESSAGE_BYTES
from tally.mesh.vouching import UsageVoucher
from tally.runtime.process import Consumer, Runtime, ServiceDefinition, Wiring, main

MIGRATIONS = Path(__file__).resolve().parents[3] / "migrations"


async def wire(runtime: Runtime[IngestionSettings]) -> Wiring:
    settings = runtime.settings
    projection = MeterProjection(runtime.engine, METER_PROJECTION.durable)
    values = ValuePropertyIndex(projection, refresh_s=settings.meter_refresh_s)
    await values.reload()
    rejected = RejectedLog(
        runtime.engine,
        RejectedBounds(timedelta(days=settings.rejected_retention_days), settings.rejected_max_per_producer),
    )
    retention = RejectedRetention(rejected, interval_s=settings.rejected_prune_s)
    rejections = BufferedRejections(rejected, capacity=settings.rejection_buffer)
    ingestor = Ingestor(
        rejections,
        BatchPublisher(
            runtime.js,
            timeout_s=settings.publish_timeout_s,
            full_retry_s=settings.full_retry_s,
            voucher=UsageVoucher(settings.usage_signing_keys) if settings.usage_signing_keys else None,
        ),
        values,
        backfill_horizon_hours=settings.backfill_horizon_hours,
        limits=ProducerRateLimits(
            Rate(settings.producer_events_per_s, settings.producer_event_burst),
            Rate(settings.producer_batches_per_s, settings.producer_batch_burst),
        ),
    )
    verifier = ProducerKeyVerifier(
        ProducerStore(runtime.engine),
        cache_s=settings.key_cache_s,
        outage_grace_s=settings.key_outage_grace_s,
    )
    admin = ProducerAdmin(ProducerStore(runtime.engine), verifier)
    return Wiring(
        registrations=[
            (add_ingestion_service, IngestionServicer(ingestor)),
            (pb_grpc.add_IngestionAdminServiceServicer_to_server, IngestionAdminServicer(admin)),
        ],
        service_names=[SERVICE, ADMIN_SERVICE],
        scopes=SCOPES,
        consumers=[Consumer(METER_PROJECTION, MeterChangedHandler(values))],
        verifiers=[verifier],
        background=[values.refresh_forever, retention.prune_forever, rejections.flush_forever],
        serves_without_database=True,
    )


DEFINITION = ServiceDefinition(
    "ingestion",
    MIGRATIONS,
    IngestionSettings,
    wire,
    streams=[streams.USAGE, streams.METERING],
    # Batches are up to 4 MiB (refused beyond, naming the field); twice that covers encoding overhead.
    max_request_bytes=MAX_MESSAGE_BYTES,
)

if __name__ == "__main__":
    main(DEFINITION)
