"""The metering service as a real process: usage from JetStream batches, queries, corrections and rebuilds."""

import asyncio
import time
from datetime import UTC, datetime

import grpc
import pytest
import sqlalchemy
from google.protobuf.field_mask_pb2 import FieldMask

from tally.api.common.v1 import period_pb2
from tally.api.ingestion.v1 import events_pb2
from tally.api.ingestion.v1 import ingestion_service_pb2 as ingest_pb
from tally.api.ingestion.v1 import ingestion_service_pb2_grpc as ingest_grpc
from tally.api.metering.v1 import events_pb2 as metering_events
from tally.api.metering.v1 import metering_service_pb2 as pb
from tally.api.metering.v1 import metering_service_pb2_grpc as pb_grpc
from tally.mesh import jetstream, streams
from tally.mesh.errors import field_violations
from tally.persistence.engine import create_engine
from tally.testing.services import ServiceProcess

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


def ms(*parts):
    return int(datetime(*parts, tzinfo=UTC).timestamp() * 1000)


T0 = ms(2026, 6, 1)


@pytest.fixture
def metering(tmp_path, nats_server, database_url):
    service = ServiceProcess(
        "metering", "tally.metering", database_url, nats_server.url, tmp_path / "metering"
    )
    service.start()
    yield service
    service.kill()


def period(start_ms, end_ms):
    window = period_pb2.Period()
    window.start.FromMilliseconds(start_ms)
    window.end.FromMilliseconds(end_ms)
    return window


def usage_event(event_id, customer, timestamp_ms, **properties):
    return events_pb2.UsageEvent(
        event_id=event_id,
        customer=customer,
        event_type="call",
        timestamp_ms=timestamp_ms,
        properties={k: str(v) for k, v in properties.items()},
    )


async def publish_batch(nats_url, batch_id, usage):
    batch = events_pb2.UsageBatchAccepted(
        batch_id=batch_id, producer_id="p1", received_at_ms=T0, events=usage
    )
    nc = await jetstream.connect(nats_url, name="test-ingestion")
    try:
        subject = streams.usage_batch_subject(streams.usage_partition(usage[0].customer))
        await jetstream.publish(nc.jetstream(), subject, batch.SerializeToString(), batch_id)
    finally:
        await nc.close()


def buckets(reply):
    return [
        (b.window.start.ToMilliseconds(), b.window.end.ToMilliseconds(), dict(b.group), b.quantity)
        for b in reply.buckets
    ]


def wait_for(fetch, expected, timeout_s=15.0):
    deadline = time.monotonic() + timeout_s
    while True:
        found = fetch()
        if found == expected or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def sql(database_url, statement, **params):
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            result = conn.execute(sqlalchemy.text(statement), params)
            return result.all() if result.returns_rows else None
    finally:
        engine.dispose()


def meter(key, aggregation, value_property="v", group_by=()):
    return pb.Meter(
        key=key,
        name=key.title(),
        event_type="call",
        aggregation=aggregation,
        value_property=value_property,
        group_by=group_by,
    )


def test_usage_from_batches_is_queried_corrected_and_rebuilt(metering):
    md = metering.metadata()
    with grpc.insecure_channel(metering.target) as channel:
        stub = pb_grpc.MeteringServiceStub(channel)
        total = stub.CreateMeter(
            pb.CreateMeterRequest(meter=meter("total", pb.AGGREGATION_SUM, group_by=["region", "tier"])),
            metadata=md,
        ).meter
        asyncio.run(
            publish_batch(
                metering.nats_url,
                "b1",
                [
                    usage_event("a", "acme", T0 + 10, v="1.25", region="eu"),
                    usage_event("b", "acme", T0 + DAY_MS + 30 * 60_000, v="2", region="us"),
                    usage_event("c", "acme", T0 + 2 * DAY_MS - 1, v="4"),
                    usage_event("d", "acme", T0 + 3 * DAY_MS, v="100", region="eu"),
                    usage_event("x", "bluth", T0 + 5, v="0.5"),
                ],
            )
        )

        def by_day(group_by=()):
            request = pb.GetUsageRequest(
                customer="acme",
                meter_id=total.id,
                period=period(T0, T0 + 3 * DAY_MS),
                window=pb.WINDOW_DAY,
                group_by=group_by,
            )
            return buckets(stub.GetUsage(request, metadata=md))

        days = [(T0 + i * DAY_MS, T0 + (i + 1) * DAY_MS) for i in range(3)]
        assert wait_for(by_day, [(*days[0], {}, "1.25"), (*days[1], {}, "6"), (*days[2], {}, "0")]) == [
            (*days[0], {}, "1.25"),
            (*days[1], {}, "6"),
            (*days[2], {}, "0"),
        ]
        assert by_day(["region"]) == [
            (*days[0], {"region": "eu"}, "1.25"),
            (*days[1], {"region": "us"}, "2"),
            (*days[1], {}, "4"),
            (*days[2], {}, "0"),
        ]
        with pytest.raises(grpc.RpcError) as bad_group:
            by_day(["colour"])
        assert bad_group.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert [v.field for v in field_violations(bad_group.value)] == ["group_by"]

        # A meter defined after the events counts them at once.
        calls = stub.CreateMeter(
            pb.CreateMeterRequest(meter=meter("calls", pb.AGGREGATION_COUNT, value_property="")), metadata=md
        ).meter
        batch = stub.BatchGetUsage(
            pb.BatchGetUsageRequest(
                queries=[
                    pb.UsageQuery(customer=c, meter_id=m, period=period(T0, T0 + 3 * DAY_MS))
                    for c, m in (("bluth", total.id), ("acme", calls.id), ("acme", total.id))
                ]
            ),
            metadata=md,
        )
        assert [(r.query.customer, [b.quantity for b in r.buckets]) for r in batch.results] == [
            ("bluth", ["0.5"]),
            ("acme", ["3"]),
            ("acme", ["7.25"]),
        ]

        amended = stub.AmendEvent(
            pb.AmendEventRequest(
                producer_id="p1", event_id="b", properties={"v": "20", "region": "us"}, reason="typo"
            ),
            metadata=md,
        ).event
        assert (amended.amended, amended.voided, dict(amended.event.properties)) == (
            True,
            False,
            {"v": "20", "region": "us"},
        )
        stub.VoidEvent(
            pb.VoidEventRequest(producer_id="p1", event_id="a", reason="test traffic"), metadata=md
        )
        assert by_day() == [(*days[0], {}, "0"), (*days[1], {}, "24"), (*days[2], {}, "0")]
        with pytest.raises(grpc.RpcError) as twice:
            stub.VoidEvent(pb.VoidEventRequest(producer_id="p1", event_id="a", reason="again"), metadata=md)
        assert twice.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        with pytest.raises(grpc.RpcError) as unknown:
            stub.VoidEvent(pb.VoidEventRequest(producer_id="p1", event_id="zz", reason="why"), metadata=md)
        assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.RpcError) as no_reason:
            stub.AmendEvent(
                pb.AmendEventRequest(producer_id="p1", event_id="c", properties={"v": "1"}), metadata=md
            )
        assert [v.field for v in field_violations(no_reason.value)] == ["reason"]
        assert sql(metering.database_url, "SELECT event_id, action, actor FROM event_audit ORDER BY id") == [
            ("b", "AMENDED", "admin"),
            ("a", "VOIDED", "admin"),
        ]

        listed = stub.ListEvents(pb.ListEventsRequest(customer="acme"), metadata=md)
        assert [(e.event.event_id, e.amended, e.voided) for e in listed.events] == [
            ("b", True, False),
            ("c", False, False),
            ("d", False, False),
        ]
        everything = stub.ListEvents(pb.ListEventsRequest(customer="acme", include_voided=True), metadata=md)
        assert [(e.event.event_id, e.voided) for e in everything.events][:1] == [("a", True)]

        # A damaged rollup is restored from the raw events.
        sql(
            metering.database_url,
            "UPDATE rollups SET count = 99, sum = '999' WHERE meter_id = :m",
            m=total.id,
        )
        assert by_day()[1][3] != "24"
        rebuilt = stub.Rebuild(pb.RebuildRequest(meter_id=total.id), metadata=md)
        assert (rebuilt.event_count, rebuilt.rollup_count) == (4, 4)
        assert by_day() == [(*days[0], {}, "0"), (*days[1], {}, "24"), (*days[2], {}, "0")]

        # Changing what a meter reads restates its usage in the same call.
        stub.UpdateMeter(
            pb.UpdateMeterRequest(
                meter=pb.Meter(id=total.id, aggregation=pb.AGGREGATION_MAX),
                update_mask=FieldMask(paths=["aggregation"]),
            ),
            metadata=md,
        )
        assert by_day() == [(*days[0], {}, "0"), (*days[1], {}, "20"), (*days[2], {}, "0")]
        with pytest.raises(grpc.RpcError) as immutable:
            stub.UpdateMeter(
                pb.UpdateMeterRequest(
                    meter=pb.Meter(id=total.id, key="other"), update_mask=FieldMask(paths=["key"])
                ),
                metadata=md,
            )
        assert immutable.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert [v.field for v in field_violations(immutable.value)] == ["update_mask"]


async def read_usage_late(nats_url):
    nc = await jetstream.connect(nats_url, name="test-invoicing")
    try:
        sub = await nc.jetstream().pull_subscribe(
            streams.USAGE_LATE, durable=None, stream=streams.METERING.name
        )
        deadline = asyncio.get_running_loop().time() + 15
        while asyncio.get_running_loop().time() < deadline:
            try:
                (msg,) = await sub.fetch(1, timeout=1.0)
            except Exception:
                continue
            await msg.ack()
            return msg
        raise AssertionError("no UsageLate published")
    finally:
        await nc.close()


def test_voiding_invoiced_usage_publishes_usage_late(metering):
    md = metering.metadata()
    with grpc.insecure_channel(metering.target) as channel:
        stub = pb_grpc.MeteringServiceStub(channel)
        total = stub.CreateMeter(
            pb.CreateMeterRequest(meter=meter("total", pb.AGGREGATION_SUM)), metadata=md
        ).meter
        asyncio.run(publish_batch(metering.nats_url, "b1", [usage_event("a", "acme", T0 + 10, v="3")]))
        query = pb.GetUsageRequest(customer="acme", meter_id=total.id, period=period(T0, T0 + DAY_MS))
        assert wait_for(lambda: stub.GetUsage(query, metadata=md).buckets[0].quantity, "3") == "3"
        sql(metering.database_url, "INSERT INTO closed_periods VALUES ('acme', :until)", until=T0 + DAY_MS)
        stub.VoidEvent(pb.VoidEventRequest(producer_id="p1", event_id="a", reason="refund"), metadata=md)
        assert stub.GetUsage(query, metadata=md).buckets[0].quantity == "0"

    message = asyncio.run(read_usage_late(metering.nats_url))
    assert message.headers[jetstream.MSG_ID_HEADER].startswith("usage-late:voided:p1:a:")
    late = metering_events.UsageLate.FromString(message.data)
    assert (late.customer, list(late.meter_ids), list(late.event_ids)) == ("acme", [total.id], ["a"])
    assert late.cause == metering_events.LATE_CAUSE_VOIDED
    assert late.period.start.ToMilliseconds() == T0 + 10


def test_each_start_restates_every_meter_so_ingestion_on_a_new_database_learns_old_ones(
    metering, tmp_path, nats_server
):
    with grpc.insecure_channel(metering.target) as channel:
        pb_grpc.MeteringServiceStub(channel).CreateMeter(
            pb.CreateMeterRequest(meter=meter("tokens", pb.AGGREGATION_SUM, "tokens")),
            metadata=metering.metadata(),
        )

    async def stored_meter_events() -> int:
        nc = await jetstream.connect(nats_server.url, name="test")
        try:
            return (await nc.jetstream().stream_info("METERING")).state.messages
        finally:
            await nc.close()

    async def purge() -> None:
        nc = await jetstream.connect(nats_server.url, name="test")
        try:
            await nc.jetstream().purge_stream("METERING")
        finally:
            await nc.close()

    deadline = time.monotonic() + 15
    while asyncio.run(stored_meter_events()) < 1:
        assert time.monotonic() < deadline, "the meter's MeterChanged was never published"
        time.sleep(0.1)
    # The original event is gone (as after the stream's retention), then metering restarts.
    asyncio.run(purge())
    metering.stop()
    metering.start()

    ingestion = ServiceProcess(
        "ingestion",
        "tally.ingestion",
        f"sqlite:///{tmp_path / 'fresh-ingestion.db'}",
        nats_server.url,
        tmp_path / "ingestion",
        env={"TALLY_INGEST_METER_REFRESH_SECONDS": "0.5"},
    )
    ingestion.start()
    try:
        with grpc.insecure_channel(ingestion.target) as channel:
            stub = ingest_grpc.IngestionServiceStub(channel)
            deadline = time.monotonic() + 15
            attempt = 0
            while True:
                attempt += 1
                bad = usage_event(f"e{attempt}", "acme", int(time.time() * 1000), tokens="lots")
                reply = stub.Ingest(
                    ingest_pb.IngestRequest(batch_id=f"b{attempt}", events=[bad]),
                    metadata=ingestion.metadata(),
                )
                if reply.rejected or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
        assert [(r.code, r.field) for r in reply.rejected] == [
            ("VALUE_NOT_A_NUMBER", "events[0].properties['tokens']")
        ]
    finally:
        ingestion.kill()


def test_list_meter_values_names_each_missing_field_and_refuses_a_counting_meter(metering):
    md = metering.metadata()
    with grpc.insecure_channel(metering.target) as channel:
        stub = pb_grpc.MeteringServiceStub(channel)
        calls = stub.CreateMeter(
            pb.CreateMeterRequest(meter=meter("calls", pb.AGGREGATION_COUNT, "")), metadata=md
        )
        with pytest.raises(grpc.RpcError) as missing:
            stub.ListMeterValues(pb.ListMeterValuesRequest(), metadata=md)
        assert missing.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert [v.field for v in field_violations(missing.value)] == [
            "customer",
            "meter_id",
            "period.start",
            "period.end",
        ]
        with pytest.raises(grpc.RpcError) as counting:
            stub.ListMeterValues(
                pb.ListMeterValuesRequest(
                    customer="acme", meter_id=calls.meter.id, period=period(T0, T0 + DAY_MS)
                ),
                metadata=md,
            )
        assert counting.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert [v.field for v in field_violations(counting.value)] == ["meter_id"]
        with pytest.raises(grpc.RpcError) as unknown:
            stub.ListMeterValues(
                pb.ListMeterValuesRequest(customer="acme", meter_id="nope", period=period(T0, T0 + DAY_MS)),
                metadata=md,
            )
        assert unknown.value.code() == grpc.StatusCode.NOT_FOUND


def test_an_unknown_window_is_refused_naming_the_field(metering):
    md = metering.metadata()
    with grpc.insecure_channel(metering.target) as channel:
        stub = pb_grpc.MeteringServiceStub(channel)
        calls = stub.CreateMeter(
            pb.CreateMeterRequest(meter=meter("calls", pb.AGGREGATION_COUNT, "")), metadata=md
        )
        request = pb.GetUsageRequest(customer="acme", meter_id=calls.meter.id, period=period(T0, T0 + DAY_MS))
        request.window = 99  # an enum value no version of the contract defines
        with pytest.raises(grpc.RpcError) as unknown:
            stub.GetUsage(request, metadata=md)
        assert unknown.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert [v.field for v in field_violations(unknown.value)] == ["window"]
