"""Benchmark: what listening for alerts costs invoicing per usage batch, beside decoding the same batch.

The usage watch reads a batch of a watched partition undecoded, searching it for each watched customer's encoded
id; the baseline decodes the batch and reads each event's customer (what finding the customers otherwise takes).
Prints one JSON line, then a readable line. At 50,000 events/s (50 batches of 1,000, all of them in watched
partitions, the worst case) the watch takes about a hundredth of a core.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal

from tally.api.ingestion.v1 import events_pb2
from tally.invoicing.billing.alerts import Controls
from tally.invoicing.billing.terms import BilledParty, Subscription, SubscriptionStatus
from tally.invoicing.billing.watch import UsageWatch
from tally.invoicing.domain import CustomerSnapshot


def batch(customers: list[str], size: int) -> bytes:
    return events_pb2.UsageBatchAccepted(
        batch_id="b",
        events=[
            events_pb2.UsageEvent(
                event_id=f"e-{n}",
                customer=customers[n % len(customers)],
                event_type="api_call",
                timestamp_ms=1_780_000_000_000 + n,
                properties={"region": "eu", "tokens": "1520"},
            )
            for n in range(size)
        ],
    ).SerializeToString()


class Watched:
    """Just what ``UsageWatch.refresh`` reads: ``count`` subscriptions with an alert, one customer each."""

    def __init__(self, count: int) -> None:
        self.controls = self
        self._count = count

    @contextmanager
    def begin(self) -> Iterator[Watched]:
        yield self

    def all(self) -> dict[str, Controls]:
        return {f"sub-{n}": Controls(f"sub-{n}", "USD", None, (Decimal(1),), ()) for n in range(self._count)}

    async def subscription(self, subscription_id: str) -> Subscription:
        return Subscription(subscription_id, f"cus-{subscription_id}", SubscriptionStatus.ACTIVE, None)

    async def customer(self, customer_id: str) -> BilledParty:
        external = f"watched-{customer_id}"
        return BilledParty(customer_id, external, "USD", None, CustomerSnapshot(external))


def per_second(work: Callable[[], object], count: int, repeats: int) -> list[float]:
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(count):
            work()
        rates.append(count / (time.perf_counter() - started))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--watched", type=int, default=10, help="watched customers in the batch's partition")
    args = parser.parse_args()

    watched = Watched(args.watched)
    watch = UsageWatch(
        watched,  # type: ignore[arg-type]  # refresh reads the controls; signals touch no port at all
        watched,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        lambda: None,
        alerted=None,  # type: ignore[arg-type]
        partition_of=lambda customer: 0,
        clock=lambda: datetime(2026, 6, 1, tzinfo=UTC),
    )
    asyncio.run(watch.refresh())
    assert watch.partitions == {0}
    data = batch([f"customer-{n}" for n in range(50)], 1000)  # none watched: every needle searched in full

    signal = statistics.median(per_second(lambda: watch.signal(0, data), args.batches, args.repeats))
    decode = statistics.median(
        per_second(
            lambda: {event.customer for event in events_pb2.UsageBatchAccepted.FromString(data).events},
            args.batches,
            args.repeats,
        )
    )
    result = {
        "benchmark": "usage_watch_signal",
        "events_per_batch": 1000,
        "watched_customers": args.watched,
        "signal_batches_per_s": round(signal, 1),
        "baseline_decode_batches_per_s": round(decode, 1),
        "ratio_to_baseline": round(signal / decode, 3),
        "core_share_at_50k_events_per_s": round(50 / signal, 4),
    }
    print(json.dumps(result))
    print(
        f"usage watch: {signal:,.0f} batches/s of 1,000 events searched for {args.watched} customers; decoding "
        f"the same batch and reading its customers {decode:,.0f}/s (ratio {signal / decode:.1f}); at 50,000 events/s "
        f"the watch takes "
        f"{50 / signal:.2%} of a core"
    )


if __name__ == "__main__":
    main()
