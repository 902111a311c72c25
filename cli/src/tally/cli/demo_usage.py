"""The demo's usage: meters of several kinds, a million synthetic events through gRPC, and the usage they add up to."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from decimal import Decimal

import grpc
import grpc.aio

from tally.api.common.v1 import period_pb2
from tally.api.ingestion.v1 import events_pb2
from tally.api.ingestion.v1 import ingestion_service_pb2 as ingestion_pb
from tally.api.ingestion.v1 import ingestion_service_pb2_grpc as ingestion_grpc
from tally.api.metering.v1 import metering_service_pb2 as metering_pb
from tally.api.metering.v1 import metering_service_pb2_grpc as metering_grpc
from tally.mesh.errors import retry_delay_s
from tally.pricing import Period

CUSTOMERS = ("acme", "tanaka", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka")
"""Who uses the product; acme and tanaka are the catalog's billed customers."""
BATCH = 1000
IN_FLIGHT = 8

METERS = (
    ("api_calls", "API calls", "api_call", metering_pb.AGGREGATION_COUNT, "", ()),
    ("egress_gb", "Egress (GB)", "api_call", metering_pb.AGGREGATION_SUM, "egress_gb", ("region",)),
    ("peak_connections", "Peak connections", "connections", metering_pb.AGGREGATION_MAX, "open", ()),
    ("active_users", "Active users", "api_call", metering_pb.AGGREGATION_UNIQUE_COUNT, "user", ()),
    ("seats", "Seats (time-weighted)", "seat_change", metering_pb.AGGREGATION_WEIGHTED_SUM, "delta", ()),
)


@dataclass(frozen=True)
class StreamResult:
    events: int
    accepted_per_s: float
    committed_per_s: float


async def create_meters(metering: grpc.aio.Channel) -> dict[str, str]:
    stub = metering_grpc.MeteringServiceStub(metering)
    ids = {}
    for key, name, event_type, aggregation, value_property, group_by in METERS:
        reply = await stub.CreateMeter(
            metering_pb.CreateMeterRequest(
                meter=metering_pb.Meter(
                    key=key,
                    name=name,
                    event_type=event_type,
                    aggregation=aggregation,
                    value_property=value_property,
                    group_by=group_by,
                )
            )
        )
        ids[key] = reply.meter.id
    return ids


async def _ingest(
    stub: ingestion_grpc.IngestionServiceStub, request: ingestion_pb.IngestRequest
) -> ingestion_pb.IngestResponse:
    """Send one batch as a well-behaved producer does: over the rate limit, wait as told and resend it."""
    while True:
        try:
            return await stub.Ingest(request, timeout=30)
        except grpc.aio.AioRpcError as exc:
            delay = retry_delay_s(exc) if exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED else None
            if delay is None:
                raise
            await asyncio.sleep(delay)


def _batch(seq: int, start_ms: int, span_ms: int) -> ingestion_pb.IngestRequest:
    """A mix of patterns: steady API traffic with egress per region, connection gauges, seat changes."""
    rng = random.Random(seq)
    events = []
    for i in range(BATCH):
        customer = CUSTOMERS[rng.randrange(len(CUSTOMERS))]
        at = start_ms + rng.randrange(span_ms)
        kind = rng.random()
        if kind < 0.90:
            event = events_pb2.UsageEvent(
                event_type="api_call",
                properties={
                    "egress_gb": f"{rng.randrange(1, 500) / 1000:.3f}",
                    "region": rng.choice(("eu-west", "us-east", "ap-south")),
                    "user": f"u{rng.randrange(300)}",
                },
            )
        elif kind < 0.99:
            event = events_pb2.UsageEvent(
                event_type="connections", properties={"open": str(rng.randrange(1, 5000))}
            )
        else:
            event = events_pb2.UsageEvent(
                event_type="seat_change", properties={"delta": rng.choice(("1", "1", "-1"))}
            )
        event.event_id = f"demo-{seq}-{i}"
        event.customer = customer
        event.timestamp_ms = at
        events.append(event)
    return ingestion_pb.IngestRequest(batch_id=f"demo-stream-{seq}", events=events)


async def stream_usage(
    ingestion: grpc.aio.Channel,
    metering: grpc.aio.Channel,
    meter_ids: dict[str, str],
    total: int,
    history: Period,
) -> StreamResult:
    """Send ``total`` events in 1000-event batches, 8 in flight; rates until accepted and until committed.

    Even batches are the last hour's usage. Odd batches backfill one random hour of ``history`` each (marked
    backfill: older than ingestion's horizon otherwise), so that period has usage to invoice.
    """
    stub = ingestion_grpc.IngestionServiceStub(ingestion)
    start_ms = int(time.time() * 1000) - 3_600_000
    history_ms = int(history.start.timestamp() * 1000)
    history_hours = int((history.end - history.start).total_seconds()) // 3600
    batches = total // BATCH
    next_seq = iter(range(batches))
    api_calls = 0
    started = time.perf_counter()

    async def sender() -> None:
        nonlocal api_calls
        for seq in next_seq:
            if seq % 2:
                hour_ms = history_ms + random.Random(-seq).randrange(history_hours) * 3_600_000
                request = _batch(seq, hour_ms, 3_600_000)
                request.backfill = True
            else:
                request = _batch(seq, start_ms, 3_600_000)
            api_calls += sum(1 for event in request.events if event.event_type == "api_call")
            reply = await _ingest(stub, request)
            if reply.accepted_count != BATCH:
                raise RuntimeError(f"batch {seq}: {len(reply.rejected)} rejected: {reply.rejected[0].reason}")

    await asyncio.gather(*(sender() for _ in range(IN_FLIGHT)))
    accepted_s = time.perf_counter() - started
    usage = metering_grpc.MeteringServiceStub(metering)
    period = demo_period(start_ms)
    period.start.FromMilliseconds(history_ms)
    for _ in range(2400):  # ten minutes at most
        if await _total(usage, meter_ids["api_calls"], period) >= api_calls:
            break
        await asyncio.sleep(0.25)
    else:
        raise RuntimeError("metering did not count every event within ten minutes")
    committed_s = time.perf_counter() - started
    return StreamResult(batches * BATCH, batches * BATCH / accepted_s, batches * BATCH / committed_s)


def demo_period(start_ms: int) -> period_pb2.Period:
    """Three whole hours around the stream's hour of event times."""
    hour = start_ms - start_ms % 3_600_000
    period = period_pb2.Period()
    period.start.FromMilliseconds(hour)
    period.end.FromMilliseconds(hour + 3 * 3_600_000)
    return period


async def _total(
    stub: metering_grpc.MeteringServiceStub, meter_id: str, period: period_pb2.Period
) -> Decimal:
    replies = await stub.BatchGetUsage(
        metering_pb.BatchGetUsageRequest(
            queries=[metering_pb.UsageQuery(customer=c, meter_id=meter_id, period=period) for c in CUSTOMERS]
        )
    )
    return sum((Decimal(b.quantity) for result in replies.results for b in result.buckets), Decimal(0))


async def usage_table(
    metering: grpc.aio.Channel, meter_ids: dict[str, str], period: period_pb2.Period
) -> str:
    """Each customer's usage of each meter over the demo period, as a text table."""
    stub = metering_grpc.MeteringServiceStub(metering)
    columns = [key for key, *_ in METERS]
    lines = [f"{'customer':<10}" + "".join(f"{key:>18}" for key in columns)]
    results: dict[str, list[Decimal]] = {customer: [] for customer in CUSTOMERS}
    for key in columns:
        replies = await stub.BatchGetUsage(
            metering_pb.BatchGetUsageRequest(
                queries=[
                    metering_pb.UsageQuery(customer=c, meter_id=meter_ids[key], period=period)
                    for c in CUSTOMERS
                ]
            )
        )
        for customer, result in zip(CUSTOMERS, replies.results, strict=True):
            results[customer].append(sum((Decimal(b.quantity) for b in result.buckets), Decimal(0)))
    for customer in CUSTOMERS:
        lines.append(
            f"{customer:<10}" + "".join(f"{show_quantity(value):>18}" for value in results[customer])
        )
    return "\n".join(lines)


def show_quantity(value: Decimal) -> str:
    """A whole number with thousands separators, or three decimals."""
    return (
        f"{value.quantize(Decimal('0.001')):,}" if value != value.to_integral_value() else f"{int(value):,}"
    )
