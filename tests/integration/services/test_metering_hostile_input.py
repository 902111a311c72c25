"""What a forged message or an extreme query does to metering: one event it cannot apply is set aside with its
reason while the rest of its batch counts at once, and usage over any valid period answers (or names the field
that makes the answer too large)."""

import asyncio
import time
from decimal import Decimal

import grpc
import pytest

from tally.api.common.v1 import pagination_pb2, period_pb2
from tally.api.ingestion.v1 import events_pb2
from tally.api.metering.v1 import metering_service_pb2 as pb
from tally.api.metering.v1 import metering_service_pb2_grpc as pb_grpc
from tally.mesh import jetstream, streams
from tally.mesh.errors import field_violations
from tally.testing.services import ServiceProcess

T0 = 1_780_272_000_000  # 2026-06-01T00:00Z


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
        properties=properties,
    )


FIRST_MS = -62_135_596_800_000  # 0001-01-01T00:00Z
LAST_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z, the last millisecond a Timestamp holds


def meter(key, aggregation):
    return pb.Meter(key=key, name=key.title(), event_type="call", aggregation=aggregation, value_property="v")


async def publish_batch(nats_url, batch_id, usage):
    batch = events_pb2.UsageBatchAccepted(
        batch_id=batch_id, producer_id="p1", received_at_ms=T0, events=usage
    )
    nc = await jetstream.connect(nats_url, name="test-forged-ingestion")
    try:
        subject = streams.usage_batch_subject(streams.usage_partition(usage[0].customer))
        await jetstream.publish(nc.jetstream(), subject, batch.SerializeToString(), batch_id)
    finally:
        await nc.close()


@pytest.fixture
def metering(tmp_path, nats_server, database_url):
    service = ServiceProcess(
        "metering", "tally.metering", database_url, nats_server.url, tmp_path / "metering"
    )
    service.reader_key = service.add_key("reader", ["usage:read"])  # keys are read at start
    service.start()
    yield service
    service.kill()


async def dead_lettered(nats_url: str) -> int:
    nc = await jetstream.connect(nats_url, name="test-dlq")
    try:
        return (await nc.jetstream().stream_info(f"{streams.USAGE.name}_DLQ")).state.messages
    finally:
        await nc.close()


def test_an_overflowing_value_is_quarantined_and_its_999_neighbours_count_within_seconds(metering):
    md = metering.metadata()
    with grpc.insecure_channel(metering.target) as channel:
        stub = pb_grpc.MeteringServiceStub(channel)
        total = stub.CreateMeter(pb.CreateMeterRequest(meter=meter("total", pb.AGGREGATION_SUM)), metadata=md)
        calls = stub.CreateMeter(
            pb.CreateMeterRequest(meter=meter("calls", pb.AGGREGATION_COUNT)), metadata=md
        )
        good = [usage_event(f"e{i}", "acme", T0 + i, v=f"{i}.25") for i in range(999)]
        # As an older ingestion or a forged message would deliver it: straight to the stream, no validation.
        bad = usage_event("huge", "acme", T0 + 500, v="1E+999999")
        sent = time.monotonic()
        asyncio.run(publish_batch(metering.nats_url, "b-mixed", [*good[:500], bad, *good[500:]]))

        def usage(meter_id: str) -> str:
            reply = stub.GetUsage(
                pb.GetUsageRequest(customer="acme", meter_id=meter_id, period=period(T0, T0 + 3_600_000)),
                metadata=md,
            )
            return reply.buckets[0].quantity

        expected_sum = str(sum(Decimal(f"{i}.25") for i in range(999)))
        while usage(calls.meter.id) != "999" and time.monotonic() - sent < 10:
            time.sleep(0.05)
        counted_after_s = time.monotonic() - sent
        assert usage(calls.meter.id) == "999"
        assert usage(total.meter.id) == expected_sum == "498750.75"
        assert counted_after_s < 5, counted_after_s

        listed = stub.ListQuarantined(pb.ListQuarantinedRequest(), metadata=md)
        assert [(q.producer_id, q.batch_id, q.event.event_id, q.field) for q in listed.events] == [
            ("p1", "b-mixed", "huge", "properties.v")
        ]
        quarantined = listed.events[0]
        assert "1E+999999 is out of range" in quarantined.reason
        assert dict(quarantined.event.properties) == {"v": "1E+999999"}
        assert quarantined.event.timestamp_ms == T0 + 500
        assert asyncio.run(dead_lettered(metering.nats_url)) == 0

        # What the recorder sets aside, an amendment may not write either.
        with pytest.raises(grpc.RpcError) as refused:
            stub.AmendEvent(
                pb.AmendEventRequest(
                    producer_id="p1", event_id="e0", properties={"v": "1E+999999"}, reason="typo"
                ),
                metadata=md,
            )
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert [violation.field for violation in field_violations(refused.value)] == ["properties.v"]

        # Delivered again (a redelivery, or the producer resending it): still one row, nothing counted twice.
        asyncio.run(publish_batch(metering.nats_url, "b-again", [bad, good[0]]))
        time.sleep(1.0)
        assert usage(calls.meter.id) == "999"
        assert len(stub.ListQuarantined(pb.ListQuarantinedRequest(), metadata=md).events) == 1


def test_list_quarantined_pages_by_producer_and_needs_the_admin_scope(metering):
    md = metering.metadata()
    with grpc.insecure_channel(metering.target) as channel:
        stub = pb_grpc.MeteringServiceStub(channel)
        asyncio.run(
            publish_batch(
                metering.nats_url,
                "b1",
                [
                    usage_event("nul", "acme", T0, v="1"),
                    *(usage_event(f"big{i}", "acme", T0 + i, v="9" * 7000) for i in range(3)),
                    events_pb2.UsageEvent(
                        event_id="id\x00x", customer="acme", event_type="call", timestamp_ms=T0
                    ),
                ],
            )
        )
        pages: list[list[str]] = []
        token = ""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            reply = stub.ListQuarantined(
                pb.ListQuarantinedRequest(
                    producer_id="p1", page=pagination_pb2.PageRequest(page_size=2, page_token=token)
                ),
                metadata=md,
            )
            if not reply.events and not pages:
                time.sleep(0.1)
                continue
            pages.append([q.event.event_id for q in reply.events])
            token = reply.page.next_page_token
            if not token:
                break
        assert pages == [["big0", "big1"], ["big2", "id\\x00x"]]  # no empty last page
        assert stub.ListQuarantined(pb.ListQuarantinedRequest(producer_id="p2"), metadata=md).events == []

        with pytest.raises(grpc.RpcError) as refused:
            stub.ListQuarantined(pb.ListQuarantinedRequest(), metadata=metering.metadata(metering.reader_key))
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_usage_over_the_years_1_to_9999_answers_and_too_many_windows_name_the_field(metering):
    md = metering.metadata()
    with grpc.insecure_channel(metering.target) as channel:
        stub = pb_grpc.MeteringServiceStub(channel)
        total = stub.CreateMeter(pb.CreateMeterRequest(meter=meter("total", pb.AGGREGATION_SUM)), metadata=md)
        asyncio.run(
            publish_batch(
                metering.nats_url,
                "b-ages",
                [
                    usage_event("first", "acme", FIRST_MS, v="1.5"),
                    usage_event("mid", "acme", T0, v="2"),
                    usage_event("last", "acme", LAST_MS - 1, v="4.25"),
                ],
            )
        )

        def usage(start_ms, end_ms, window=pb.WINDOW_UNSPECIFIED):
            return stub.GetUsage(
                pb.GetUsageRequest(
                    customer="acme", meter_id=total.meter.id, period=period(start_ms, end_ms), window=window
                ),
                metadata=md,
            )

        deadline = time.monotonic() + 10
        while usage(FIRST_MS, LAST_MS).buckets[0].quantity != "7.75" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [
            (b.window.start.ToMilliseconds(), b.window.end.ToMilliseconds(), b.quantity)
            for b in usage(FIRST_MS, LAST_MS).buckets
        ] == [(FIRST_MS, LAST_MS, "7.75")]

        # The last months of the year 9999, the last one ending where the period does; the first of the year 1.
        december = 253_399_622_400_000  # 9999-12-01T00:00Z
        late = usage(december - 1, LAST_MS, pb.WINDOW_MONTH).buckets
        assert [
            (b.window.start.ToMilliseconds(), b.window.end.ToMilliseconds(), b.quantity) for b in late
        ] == [
            (december - 1, december, "0"),
            (december, LAST_MS, "4.25"),
        ]
        january_end = FIRST_MS + 31 * 86_400_000
        early = usage(FIRST_MS, january_end + 1, pb.WINDOW_MONTH).buckets
        assert [(b.window.end.ToMilliseconds(), b.quantity) for b in early] == [
            (january_end, "1.5"),
            (january_end + 1, "0"),
        ]

        def refused(request):
            with pytest.raises(grpc.RpcError) as error:
                stub.GetUsage(request, metadata=md)
            assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            return [(v.field, v.reason) for v in field_violations(error.value)]

        whole_range = pb.GetUsageRequest(
            customer="acme", meter_id=total.meter.id, period=period(FIRST_MS, LAST_MS), window=pb.WINDOW_MONTH
        )
        assert refused(whole_range) == [
            (
                "window",
                "would cut the period into 119988 windows, more than the 44640 one query may return: "
                "use a larger window or a shorter period",
            )
        ]
        whole_range.window = 99
        assert [field for field, _ in refused(whole_range)] == ["window"]
        beyond = period(FIRST_MS, LAST_MS)
        beyond.end.seconds = 10**12
        assert [
            field
            for field, _ in refused(
                pb.GetUsageRequest(customer="acme", meter_id=total.meter.id, period=beyond)
            )
        ] == ["period.end"]
        batch = stub.BatchGetUsage(
            pb.BatchGetUsageRequest(
                queries=[
                    pb.UsageQuery(customer="acme", meter_id=total.meter.id, period=period(FIRST_MS, LAST_MS))
                ]
            ),
            metadata=md,
        )
        assert batch.results[0].buckets[0].quantity == "7.75"
        with pytest.raises(grpc.RpcError) as error:
            stub.BatchGetUsage(
                pb.BatchGetUsageRequest(
                    queries=[
                        pb.UsageQuery(
                            customer="acme", meter_id=total.meter.id, period=period(FIRST_MS, LAST_MS)
                        ),
                        pb.UsageQuery(
                            customer="acme",
                            meter_id=total.meter.id,
                            period=period(FIRST_MS, LAST_MS),
                            window=7,
                        ),
                    ]
                ),
                metadata=md,
            )
        assert [v.field for v in field_violations(error.value)] == ["queries[1].window"]


def test_an_event_id_resent_with_another_payload_is_listed_as_a_conflict_and_the_first_counts(metering):
    md = metering.metadata()
    with grpc.insecure_channel(metering.target) as channel:
        stub = pb_grpc.MeteringServiceStub(channel)
        total = stub.CreateMeter(pb.CreateMeterRequest(meter=meter("total", pb.AGGREGATION_SUM)), metadata=md)
        before_ms = int(time.time() * 1000)
        asyncio.run(publish_batch(metering.nats_url, "b1", [usage_event("e1", "acme", T0, v="2")]))
        asyncio.run(publish_batch(metering.nats_url, "b2", [usage_event("e1", "acme", T0, v="200")]))
        deadline = time.monotonic() + 10
        while True:
            listed = stub.ListConflicts(pb.ListConflictsRequest(producer_id="p1"), metadata=md).conflicts
            if listed or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert [
            (c.producer_id, c.batch_id, c.received.event_id, dict(c.received.properties)) for c in listed
        ] == [("p1", "b2", "e1", {"v": "200"})]
        assert before_ms <= listed[0].detected_at.ToMilliseconds() <= int(time.time() * 1000)
        assert stub.ListConflicts(pb.ListConflictsRequest(producer_id="p2"), metadata=md).conflicts == []
        reply = stub.GetUsage(
            pb.GetUsageRequest(customer="acme", meter_id=total.meter.id, period=period(T0, T0 + 3_600_000)),
            metadata=md,
        )
        assert reply.buckets[0].quantity == "2"
        with pytest.raises(grpc.RpcError) as refused:
            stub.ListConflicts(pb.ListConflictsRequest(), metadata=metering.metadata(metering.reader_key))
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
