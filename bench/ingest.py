"""Ingest benchmark: load generator → gRPC Ingest → JetStream → metering committed, beside a baseline.

Runs a real nats-server and real ingestion and metering processes on loopback. Reports, as medians over
several runs: sustained events/s end to end; then, at half that rate, Ingest p50/p99 for 1000-event
batches and the p99 time from accepted (Ingest answered) to visible in metering's GetUsage.
The baseline, measured in the same run on the same machine, is a bare SQLite INSERT OR IGNORE of the same
events: the ratio to it is what to compare across machines.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import grpc

from tally.api.common.v1 import period_pb2
from tally.api.ingestion.v1 import events_pb2
from tally.api.ingestion.v1 import ingestion_service_pb2 as ingestion_pb
from tally.api.ingestion.v1 import ingestion_service_pb2_grpc as ingestion_grpc
from tally.api.metering.v1 import metering_service_pb2 as metering_pb
from tally.api.metering.v1 import metering_service_pb2_grpc as metering_grpc
from tally.testing.databases import fresh_postgres_database, sqlite_url
from tally.testing.nats_server import NatsServer
from tally.testing.services import ServiceProcess

BATCH = 1000
CUSTOMERS = 200


@dataclass
class Sample:
    events_per_s: float
    ingest_p50_ms: float
    ingest_p99_ms: float
    visible_p99_ms: float


def make_batch(seq: int, now_ms: int, customers: int = CUSTOMERS) -> ingestion_pb.IngestRequest:
    rng = random.Random(seq)
    events = [
        events_pb2.UsageEvent(
            event_id=f"b{seq}-{i}",
            customer=f"cust-{rng.randrange(customers)}",
            event_type="api_call",
            timestamp_ms=now_ms - rng.randrange(3_600_000),
            properties={"bytes": str(rng.randrange(1, 10_000)), "region": rng.choice(("eu", "us", "ap"))},
        )
        for i in range(BATCH)
    ]
    return ingestion_pb.IngestRequest(batch_id=f"bench-{seq}", events=events)


def baseline_sqlite(batches: list[ingestion_pb.IngestRequest], directory: Path) -> float:
    """Events/s of a bare executemany INSERT OR IGNORE with a unique key, in WAL mode: the storage ceiling."""
    db = sqlite3.connect(directory / "baseline.db")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(
        "CREATE TABLE IF NOT EXISTS e (producer text, event_id text, customer text, ts integer, props text, "
        "UNIQUE (producer, event_id))"
    )
    started = time.perf_counter()
    count = 0
    for request in batches:
        rows = [
            ("bench", event.event_id, event.customer, event.timestamp_ms, json.dumps(dict(event.properties)))
            for event in request.events
        ]
        db.executemany("INSERT OR IGNORE INTO e VALUES (?,?,?,?,?)", rows)
        db.commit()
        count += len(rows)
    elapsed = time.perf_counter() - started
    db.close()
    return count / elapsed


USAGE_SIGNING_KEY = "bench-usage-signing-key-" + "0" * 40


class Pipeline:
    """nats-server + ingestion + metering, with a COUNT meter to read usage back through GetUsage."""

    def __init__(self, workdir: Path, database_urls: dict[str, str]) -> None:
        # As in production: every process has its own NATS identity, and ingestion signs what metering counts.
        self.nats = NatsServer(workdir / "nats", authorization=True)
        self.workdir = workdir
        self.database_urls = database_urls
        self.services: dict[str, ServiceProcess] = {}
        self.meter_id = ""

    def __enter__(self) -> Pipeline:
        self.nats.start()
        for name in ("metering", "ingestion"):
            service = ServiceProcess(
                name,
                f"tally.{name}",
                self.database_urls[name],
                self.nats.url,
                self.workdir / name,
                # The benchmark measures the pipeline, not a producer's rate limit.
                env={
                    "TALLY_TRACE_EXPORT": "none",
                    "TALLY_INGEST_PRODUCER_EVENTS_PER_SECOND": "0",
                    "TALLY_INGEST_PRODUCER_BATCHES_PER_SECOND": "0",
                    "TALLY_USAGE_SIGNING_KEY": USAGE_SIGNING_KEY,
                    **self.nats.service_env(name),
                },
            )
            service.start(timeout=60)
            self.services[name] = service
        with grpc.insecure_channel(self.services["metering"].target) as channel:
            reply = metering_grpc.MeteringServiceStub(channel).CreateMeter(
                metering_pb.CreateMeterRequest(
                    meter=metering_pb.Meter(
                        key="api_calls",
                        name="API calls",
                        event_type="api_call",
                        aggregation=metering_pb.AGGREGATION_COUNT,
                    )
                ),
                metadata=self.services["metering"].metadata(),
            )
        self.meter_id = reply.meter.id
        return self

    def __exit__(self, *exc: object) -> None:
        for service in self.services.values():
            service.stop()
        self.nats.kill()


async def sustained(pipeline: Pipeline, batches: list[ingestion_pb.IngestRequest], concurrency: int) -> float:
    """Send every batch as fast as the pipeline accepts them; events/s until metering committed them all."""
    ingestion = pipeline.services["ingestion"]
    metering = pipeline.services["metering"]
    key = ingestion.admin_key
    total = sum(len(request.events) for request in batches)
    queue: asyncio.Queue[ingestion_pb.IngestRequest] = asyncio.Queue()
    for request in batches:
        queue.put_nowait(request)
    started = time.perf_counter()
    async with grpc.aio.insecure_channel(ingestion.target) as channel:
        stub = ingestion_grpc.IngestionServiceStub(channel)

        async def sender() -> None:
            while not queue.empty():
                request = queue.get_nowait()
                reply = await stub.Ingest(request, metadata=(("authorization", f"Bearer {key}"),), timeout=30)
                assert reply.accepted_count == len(request.events), reply.rejected[:3]

        await asyncio.gather(*(sender() for _ in range(concurrency)))
    await _wait_committed(metering.database_url, total, limit_s=600)
    return total / (time.perf_counter() - started)


async def _wait_committed(database_url: str, total: int, limit_s: float) -> None:
    # Counting raw rows is the cheapest exact signal that metering committed everything (GetUsage per
    # customer for 200 customers would add its own load to the measurement).
    from sqlalchemy import text

    from tally.persistence.engine import create_engine

    engine = create_engine(database_url)
    deadline = time.monotonic() + limit_s
    try:
        while True:
            with engine.connect() as conn:
                stored = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
            if stored >= total:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"metering committed {stored} of {total} events in {limit_s}s")
            await asyncio.sleep(0.05)
    finally:
        engine.dispose()


async def paced(
    pipeline: Pipeline, rate: float, seconds: float, seq0: int
) -> tuple[list[float], list[float]]:
    """Batches at ``rate`` events/s; Ingest latencies and accepted→visible-in-GetUsage latencies (ms)."""
    ingestion = pipeline.services["ingestion"]
    metering = pipeline.services["metering"]
    key = ingestion.admin_key
    interval = BATCH / rate
    ingest_ms: list[float] = []
    visible_ms: list[float] = []
    now_ms = int(time.time() * 1000)
    period = period_pb2.Period()
    period.start.FromMilliseconds(now_ms - 2 * 3_600_000)
    period.end.FromMilliseconds(now_ms + 3_600_000)
    async with (
        grpc.aio.insecure_channel(ingestion.target) as ingest_channel,
        grpc.aio.insecure_channel(metering.target) as metering_channel,
    ):
        stub = ingestion_grpc.IngestionServiceStub(ingest_channel)
        usage = metering_grpc.MeteringServiceStub(metering_channel)
        pending: dict[str, float] = {}
        sending = True

        async def watch() -> None:
            # One BatchGetUsage per tick for every batch not yet visible: the probe must not be the load.
            headers = (("authorization", f"Bearer {metering.admin_key}"),)
            for _ in range(6000):  # 120 s at most
                if not sending and not pending:
                    return
                customers = list(pending)[:500]
                if customers:
                    reply = await usage.BatchGetUsage(
                        metering_pb.BatchGetUsageRequest(
                            queries=[
                                metering_pb.UsageQuery(customer=c, meter_id=pipeline.meter_id, period=period)
                                for c in customers
                            ]
                        ),
                        metadata=headers,
                    )
                    now = time.perf_counter()
                    for customer, result in zip(customers, reply.results, strict=True):
                        if sum((Decimal(b.quantity) for b in result.buckets), Decimal(0)) >= 1:
                            visible_ms.append((now - pending.pop(customer)) * 1000)
                await asyncio.sleep(0.02)
            raise RuntimeError(f"{len(pending)} batches never became visible in GetUsage")

        async def send(seq: int) -> None:
            request = make_batch(seq, now_ms)
            request.events[0].customer = f"probe-{seq}"
            sent = time.perf_counter()
            await stub.Ingest(request, metadata=(("authorization", f"Bearer {key}"),), timeout=30)
            done = time.perf_counter()
            ingest_ms.append((done - sent) * 1000)
            pending[f"probe-{seq}"] = done

        watcher = asyncio.create_task(watch())
        started = time.perf_counter()
        sends: list[asyncio.Task[None]] = []
        seq = seq0
        while time.perf_counter() - started < seconds:
            sends.append(asyncio.create_task(send(seq)))
            seq += 1
            next_at = started + (seq - seq0) * interval
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        await asyncio.gather(*sends)
        sending = False
        await watcher
    return ingest_ms, visible_ms


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run_once(database: str, events: int, paced_seconds: float, concurrency: int) -> tuple[Sample, float]:
    with tempfile.TemporaryDirectory(prefix="tally-bench-") as tmp:
        workdir = Path(tmp)
        now_ms = int(time.time() * 1000)
        batches = [make_batch(seq, now_ms) for seq in range(events // BATCH)]
        baseline = baseline_sqlite(batches, workdir)
        if database == "sqlite":
            urls = {name: sqlite_url(workdir / name) for name in ("ingestion", "metering")}
            return _measure(workdir, urls, batches, paced_seconds, concurrency), baseline
        with fresh_postgres_database() as ingestion_url, fresh_postgres_database() as metering_url:
            urls = {"ingestion": ingestion_url, "metering": metering_url}
            return _measure(workdir, urls, batches, paced_seconds, concurrency), baseline


def _measure(
    workdir: Path,
    urls: dict[str, str],
    batches: list[ingestion_pb.IngestRequest],
    paced_seconds: float,
    concurrency: int,
) -> Sample:
    with Pipeline(workdir, urls) as pipeline:
        rate = asyncio.run(sustained(pipeline, batches, concurrency))
        ingest_ms, visible_ms = asyncio.run(paced(pipeline, rate / 2, paced_seconds, seq0=len(batches)))
    return Sample(rate, percentile(ingest_ms, 0.5), percentile(ingest_ms, 0.99), percentile(visible_ms, 0.99))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300_000, help="events in the sustained phase of a run")
    parser.add_argument("--paced-seconds", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8, help="Ingest calls in flight")
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args(argv)
    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    for database in databases:
        samples: list[Sample] = []
        baselines: list[float] = []
        for _ in range(args.runs):
            try:
                sample, baseline = run_once(database, args.events, args.paced_seconds, args.concurrency)
            except Exception as exc:
                print(f"ingest[{database}]: not measured: {exc!r}", file=sys.stderr)
                break
            samples.append(sample)
            baselines.append(baseline)
        if not samples:
            continue
        summary = {
            "bench": "ingest",
            "database": database,
            "runs": len(samples),
            "sustained_events_per_s": round(statistics.median(s.events_per_s for s in samples)),
            "ingest_p50_ms_at_half_rate": round(statistics.median(s.ingest_p50_ms for s in samples), 1),
            "ingest_p99_ms_at_half_rate": round(statistics.median(s.ingest_p99_ms for s in samples), 1),
            "visible_p99_ms_at_half_rate": round(statistics.median(s.visible_p99_ms for s in samples), 1),
            "baseline_sqlite_insert_events_per_s": round(statistics.median(baselines)),
        }
        summary["ratio_to_baseline"] = round(
            summary["sustained_events_per_s"] / summary["baseline_sqlite_insert_events_per_s"], 3
        )
        print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
