"""Tilt's `demo` button: record usage through the dev cluster's ingestion and read it back from metering.

Talks to the port-forwards Tilt opens (ingestion 127.0.0.1:50061, metering 127.0.0.1:50062) with the
dev-only admin key, then points at Jaeger (http://localhost:16686) for the trace of the batch.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from pathlib import Path

from tally.api.ingestion.v1 import events_pb2
from tally.api.ingestion.v1 import ingestion_service_pb2 as ingestion_pb
from tally.api.ingestion.v1 import ingestion_service_pb2_grpc as ingestion_grpc
from tally.api.metering.v1 import metering_service_pb2 as metering_pb
from tally.api.metering.v1 import metering_service_pb2_grpc as metering_grpc
from tally.mesh.channel import open_channel
from tally.mesh.settings import MeshSettings

ADMIN_KEY = Path(__file__).resolve().parents[1] / "deploy/k8s/components/dev-credentials/admin.key"
INGESTION = "127.0.0.1:50061"
METERING = "127.0.0.1:50062"


async def record_usage(admin_key: str) -> int:
    settings = MeshSettings(database_url="", nats_url="", keyring_path=Path(), service_token=admin_key)
    ingestion = open_channel(INGESTION, settings)
    metering = open_channel(METERING, settings)
    run = uuid.uuid4().hex[:8]
    customer = f"tilt-demo-{run}"
    try:
        now_ms = int(time.time() * 1000)
        events = [
            events_pb2.UsageEvent(
                event_id=f"{run}-{i}",
                customer=customer,
                event_type="api_call",
                timestamp_ms=now_ms - i * 1000,
                properties={"endpoint": "/v1/search", "region": "eu"},
            )
            for i in range(5)
        ]
        reply = await ingestion_grpc.IngestionServiceStub(ingestion).Ingest(
            ingestion_pb.IngestRequest(batch_id=f"tilt-demo-{run}", events=events)
        )
        print(
            f"Ingest: {reply.accepted_count} accepted, {len(reply.rejected)} rejected (customer {customer})"
        )
        stub = metering_grpc.MeteringServiceStub(metering)
        deadline = time.monotonic() + 30
        while True:
            stored = len((await stub.ListEvents(metering_pb.ListEventsRequest(customer=customer))).events)
            if stored >= reply.accepted_count:
                print(
                    f"metering stored {stored} events; traces: http://localhost:16686/search?service=ingestion"
                )
                return 0
            if time.monotonic() > deadline:
                print(f"metering shows {stored} of {reply.accepted_count} events after 30s", file=sys.stderr)
                return 1
            await asyncio.sleep(0.5)
    finally:
        await ingestion.close()
        await metering.close()


if __name__ == "__main__":
    sys.exit(asyncio.run(record_usage(ADMIN_KEY.read_text().strip())))
