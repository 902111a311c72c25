"""Tally scaled out on one machine: a 3-node NATS cluster on loopback with R3 streams, and several replicas of
ingestion and metering sharing their PostgreSQL databases (the cluster test and ``bench/cluster.py``)."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import grpc

from tally.api.common.v1 import period_pb2
from tally.api.ingestion.v1 import events_pb2
from tally.api.ingestion.v1 import ingestion_service_pb2 as ingestion_pb
from tally.api.ingestion.v1 import ingestion_service_pb2_grpc as ingestion_grpc
from tally.api.metering.v1 import metering_service_pb2 as metering_pb
from tally.api.metering.v1 import metering_service_pb2_grpc as metering_grpc
from tally.mesh import jetstream
from tally.testing.databases import fresh_postgres_database
from tally.testing.nats_server import NatsCluster
from tally.testing.services import ServiceProcess

__all__ = ["ScaledOut", "scaled_out"]

CUSTOMERS = [f"cust-{i}" for i in range(40)]
_NOW_MS = int(time.time() * 1000)


def usage_batch(seq: int, size: int) -> ingestion_pb.IngestRequest:
    rng = random.Random(seq)
    return ingestion_pb.IngestRequest(
        batch_id=f"batch-{seq}",
        events=[
            events_pb2.UsageEvent(
                event_id=f"{seq}-{i}",
                customer=rng.choice(CUSTOMERS),
                event_type="api_call",
                timestamp_ms=_NOW_MS - rng.randrange(3_600_000),
            )
            for i in range(size)
        ],
    )


@dataclass
class ScaledOut:
    """The running cluster and replicas; ``send`` retries a batch (same id) until acknowledged."""

    cluster: NatsCluster
    ingestion: list[ServiceProcess]
    metering: list[ServiceProcess]
    meter_id: str = ""
    acknowledged: int = 0
    refusals: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, seq: int, size: int, *, limit_s: float = 120.0) -> int:
        """Ingest batch ``seq`` through the replicas in turn until one acknowledges it; its accepted count."""
        request = usage_batch(seq, size)
        deadline = time.monotonic() + limit_s
        attempt = seq
        while True:
            replica = self.ingestion[attempt % len(self.ingestion)]
            attempt += 1
            try:
                with grpc.insecure_channel(replica.target) as channel:
                    reply = ingestion_grpc.IngestionServiceStub(channel).Ingest(
                        request, metadata=replica.metadata(), timeout=15
                    )
            except grpc.RpcError as error:
                if error.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                    raise
                if time.monotonic() > deadline:
                    raise AssertionError(f"batch {seq} never acknowledged: {error.details()}") from None
                with self._lock:
                    self.refusals += 1
                time.sleep(0.2)
                continue
            with self._lock:
                self.acknowledged += reply.accepted_count
            return reply.accepted_count

    def total(self) -> Decimal:
        """Usage counted, summed over every customer, read from whichever metering replica answers."""
        period = period_pb2.Period()
        period.start.FromMilliseconds(_NOW_MS - 7_200_000)
        period.end.FromMilliseconds(_NOW_MS + 3_600_000)
        replica = next(m for m in self.metering if m.process is not None and m.process.poll() is None)
        with grpc.insecure_channel(replica.target) as channel:
            replies = metering_grpc.MeteringServiceStub(channel).BatchGetUsage(
                metering_pb.BatchGetUsageRequest(
                    queries=[
                        metering_pb.UsageQuery(customer=c, meter_id=self.meter_id, period=period)
                        for c in CUSTOMERS
                    ]
                ),
                metadata=replica.metadata(),
                timeout=30,
            )
        return sum(
            (Decimal(bucket.quantity) for result in replies.results for bucket in result.buckets), Decimal(0)
        )

    def settle(self, expected: int, limit_s: float = 300.0) -> Decimal:
        """The total once it reaches ``expected`` (or the limit passes), read again a second later."""
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline and self.total() < expected:
            time.sleep(0.25)
        time.sleep(1.0)
        return self.total()


async def _wait_for_jetstream(url: str, limit_s: float = 60.0) -> None:
    """A new cluster answers JetStream calls only once it has elected its meta leader."""
    nc = await jetstream.connect(url, name="scale-out-wait")
    try:
        deadline = time.monotonic() + limit_s
        while True:
            try:
                await nc.jetstream().account_info()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.25)
    finally:
        await nc.close()


@contextmanager
def scaled_out(
    workdir: Path, *, ingestion: int = 2, metering: int = 2, replicas: int = 3
) -> Iterator[ScaledOut]:
    """Start the cluster (R``replicas`` streams) and the replicas on fresh PostgreSQL databases; kill all after."""
    with ExitStack() as stack:
        cluster = NatsCluster(workdir / "nats")
        stack.callback(cluster.kill)
        cluster.start()
        asyncio.run(_wait_for_jetstream(cluster.url))
        env = {"TALLY_STREAM_REPLICAS": str(replicas), "TALLY_TRACE_EXPORT": "none"}
        databases = {
            name: stack.enter_context(fresh_postgres_database()) for name in ("metering", "ingestion")
        }
        started: dict[str, list[ServiceProcess]] = {"metering": [], "ingestion": []}
        for name, count in (("metering", metering), ("ingestion", ingestion)):
            for i in range(count):
                replica = ServiceProcess(
                    f"{name}-{i}",
                    f"tally.{name}",
                    databases[name],
                    cluster.url,
                    workdir / f"{name}-{i}",
                    env=env,
                )
                stack.callback(replica.kill)
                replica.start(timeout=60)
                started[name].append(replica)
        world = ScaledOut(cluster, started["ingestion"], started["metering"])
        first = world.metering[0]
        world.meter_id = first.create_count_meter()
        yield world
