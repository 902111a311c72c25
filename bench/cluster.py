"""Scale-out benchmark: events/s metered end to end with two metering replicas beside one, on a 3-node NATS
cluster (R3 streams) with two ingestion replicas, all on PostgreSQL.

Each run starts the cluster and the replicas afresh (``tally.testing.scale_out``), sends the events as fast as
eight concurrent producers can through both ingestion replicas, and clocks until metering has counted every
one. The one-replica figure, measured in the same run on the same machine, is the baseline; the ratio is what
to compare across machines. On a 2-core machine the replicas share the cores with NATS and PostgreSQL, so
the ratio shows contention as much as scale-out.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tally.testing.scale_out import scaled_out

BATCH = 1000


def run_once(metering: int, events: int, concurrency: int) -> float:
    with (
        tempfile.TemporaryDirectory(prefix="tally-bench-cluster-") as tmp,
        scaled_out(Path(tmp), ingestion=2, metering=metering) as world,
    ):
        batches = events // BATCH
        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(lambda seq: world.send(seq, BATCH), range(batches)))
        counted = world.settle(batches * BATCH, limit_s=600)
        elapsed = time.perf_counter() - started - 1.0  # settle reads once more a second later
        if counted != batches * BATCH:
            raise RuntimeError(f"counted {counted} of {batches * BATCH} events")
        return batches * BATCH / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000, help="events per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8, help="Ingest calls in flight")
    args = parser.parse_args(argv)
    rates: dict[int, list[float]] = {1: [], 2: []}
    try:
        for _ in range(args.runs):
            for replicas in rates:  # interleaved, so drift on a shared machine hits both alike
                rates[replicas].append(run_once(replicas, args.events, args.concurrency))
    except Exception as exc:
        print(f"cluster: not measured: {exc!r}", file=sys.stderr)
        return 1
    one, two = (round(statistics.median(rates[r])) for r in (1, 2))
    print(
        json.dumps(
            {
                "bench": "cluster",
                "database": "postgres",
                "nats": "3-node cluster, R3 streams",
                "ingestion_replicas": 2,
                "runs": args.runs,
                "events_per_run": args.events,
                "metered_events_per_s_two_metering_replicas": two,
                "baseline_metered_events_per_s_one_metering_replica": one,
                "ratio_to_baseline": round(two / one, 3),
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
