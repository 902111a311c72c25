"""``python -m tally.ingestion``: wiring only."""

from __future__ import annotations

from pathlib import Path

from tally.api.ingestion.v1 import ingestion_service_pb2_grpc as pb_grpc
from tally.ingestion.events import METER_PROJECTION, MeterChangedHandler
from tally.ingestion.handlers import Ingestor, ProducerAdmin
from tally.ingestion.producer_keys import ProducerKeyVerifier
from tally.ingestion.publisher import BatchPublisher
from tally.ingestion.server import ADMIN_SERVICE, SCOPES, SERVICE, IngestionAdminServicer, IngestionServicer
from tally.ingestion.settings import IngestionSettings
from tally.ingestion.store import MeterProjection, ProducerStore, RejectedLog
from tally.ingestion.value_properties import ValuePropertyIndex
from tally.mesh import streams
from tally.mesh.vouching import UsageVoucher
from tally.runtime.process import Consumer, Runtime, ServiceDefinition, Wiring, main

MIGRATIONS = Path(__file__).resolve().parents[3] / "migrations"


async def wire(runtime: Runtime[IngestionSettings]) -> Wiring:
    settings = runtime.settings
    projection = MeterProjection(runtime.engine, METER_PROJECTION.durable)
    values = ValuePropertyIndex(projection, refresh_s=settings.meter_refresh_s)
    await values.reload()
    ingestor = Ingestor(
        RejectedLog(runtime.engine),
        BatchPublisher(
            runtime.js,
            timeout_s=settings.publish_timeout_s,
            voucher=UsageVoucher(settings.usage_signing_keys) if settings.usage_signing_keys else None,
        ),
        settings,
        values,
    )
    verifier = ProducerKeyVerifier(ProducerStore(runtime.engine), cache_s=settings.key_cache_s)
    admin = ProducerAdmin(ProducerStore(runtime.engine), verifier)
    return Wiring(
        registrations=[
            (pb_grpc.add_IngestionServiceServicer_to_server, IngestionServicer(ingestor)),
            (pb_grpc.add_IngestionAdminServiceServicer_to_server, IngestionAdminServicer(admin)),
        ],
        service_names=[SERVICE, ADMIN_SERVICE],
        scopes=SCOPES,
        consumers=[Consumer(METER_PROJECTION, MeterChangedHandler(projection, values))],
        verifiers=[verifier],
        background=[values.refresh_forever],
    )


DEFINITION = ServiceDefinition(
    "ingestion", MIGRATIONS, IngestionSettings, wire, streams=[streams.USAGE, streams.METERING]
)

if __name__ == "__main__":
    main(DEFINITION)
