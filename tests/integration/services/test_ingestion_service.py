"""Ingestion as a real process (SQLite and PostgreSQL): per-event rejections, idempotent retries, streams,
meter value checks from MeterChanged, and listing rejections."""

import asyncio
import time
from datetime import UTC, datetime, timedelta

import grpc
import nats
import nats.errors
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from tally.api.ingestion.v1 import events_pb2
from tally.api.ingestion.v1 import ingestion_service_pb2 as pb
from tally.api.ingestion.v1 import ingestion_service_pb2_grpc as pb_grpc
from tally.metering.domain import Aggregation, MeterDefinition
from tally.metering.meter_events import meter_changed
from tally.testing.services import ServiceProcess


@pytest.fixture
def ingestion(tmp_path, nats_server, database_url):
    service = ServiceProcess(
        "ingestion",
        "tally.ingestion",
        database_url,
        nats_server.url,
        tmp_path / "ingestion",
        env={"TALLY_INGEST_METER_REFRESH_SECONDS": "0.5"},
    )
    service.start()
    yield service
    service.kill()


@pytest.fixture
def stub(ingestion):
    with grpc.insecure_channel(ingestion.target) as channel:
        yield pb_grpc.IngestionServiceStub(channel)


def now_ms():
    return int(time.time() * 1000)


def event(i, **overrides):
    fields = dict(event_id=f"e{i}", customer=f"c{i % 7}", event_type="api_call", timestamp_ms=now_ms())
    fields.update(overrides)
    return events_pb2.UsageEvent(**fields)


async def _stored_batches(url):
    client = await nats.connect(url)
    try:
        js = client.jetstream()
        sub = await js.pull_subscribe("tally.usage.batches.>", stream="USAGE")
        batches = []
        while True:
            try:
                msgs = await sub.fetch(100, timeout=1)
            except TimeoutError:  # nats or asyncio: both are TimeoutError
                return batches
            for msg in msgs:
                batches.append(events_pb2.UsageBatchAccepted.FromString(msg.data))
                await msg.ack()
    finally:
        await client.close()


def stored_batches(url):
    """Every UsageBatchAccepted message stored in the USAGE stream."""
    return asyncio.run(_stored_batches(url))


async def _publish(url, message):
    client = await nats.connect(url)
    try:
        await client.jetstream().publish(
            message.subject, message.payload, headers={"Nats-Msg-Id": message.msg_id}
        )
    finally:
        await client.close()


def publish_meter(url, meter_id, event_type, aggregation, value_property, *, deleted=False, version=1):
    """Publish MeterChanged exactly as metering builds it."""
    definition = MeterDefinition(meter_id, meter_id, event_type, aggregation, value_property)
    changed_at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=version)
    asyncio.run(_publish(url, meter_changed(meter_id, definition, changed_at, deleted=deleted)))


def rejection_codes(stub, ingestion, events, batch_id):
    reply = stub.Ingest(pb.IngestRequest(batch_id=batch_id, events=events), metadata=ingestion.metadata())
    return [(r.index, r.code, r.field) for r in reply.rejected]


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


THOUSAND_WITH_THREE_BAD = [
    (17, "MISSING_CUSTOMER", "events[17].customer", "e17"),
    (500, "TIMESTAMP_IN_FUTURE", "events[500].timestamp_ms", "e500"),
    (998, "MISSING_EVENT_ID", "events[998].event_id", ""),
]


def thousand_with_three_bad():
    events = [event(i) for i in range(1000)]
    events[17] = event(17, customer="")
    events[500] = event(500, timestamp_ms=now_ms() + 10 * 60 * 1000)
    events[998] = event(998, event_id="")
    return events


def test_a_batch_of_1000_with_3_bad_events_sent_3_times_gives_the_same_answer_and_logs_each_once(
    ingestion, stub, nats_server
):
    events = thousand_with_three_bad()
    replies = [
        stub.Ingest(pb.IngestRequest(batch_id="b-1000", events=events), metadata=ingestion.metadata())
        for _ in range(3)
    ]
    for reply in replies:
        assert reply.batch_id == "b-1000"
        assert reply.accepted_count == 997
        assert [(r.index, r.code, r.field, r.event_id) for r in reply.rejected] == THOUSAND_WITH_THREE_BAD
        assert all(r.reason for r in reply.rejected)

    listed = stub.ListRejected(pb.ListRejectedRequest(), metadata=ingestion.metadata())
    newest_first = THOUSAND_WITH_THREE_BAD[::-1]
    assert [(r.index, r.code, r.field, r.event.event_id) for r in listed.rejected] == newest_first
    assert {(r.producer_id, r.batch_id) for r in listed.rejected} == {("admin", "b-1000")}
    assert listed.rejected[2].event.timestamp_ms == events[17].timestamp_ms

    # The retries were dropped by JetStream: the 997 good events are stored once, none of the bad ones.
    stored = [e.event_id for batch in stored_batches(nats_server.url) for e in batch.events]
    assert len(stored) == 997
    assert set(stored) == {f"e{i}" for i in range(1000)} - {"e17", "e500", "e998"}


def test_ingest_stream_answers_each_batch_and_names_a_bad_one_in_the_middle_then_goes_on(
    ingestion, stub, nats_server
):
    def batch(b, batch_id=None):
        events = [event(b * 100 + i) for i in range(100)]
        events[b] = event(b * 100 + b, event_type="")
        return pb.IngestStreamRequest(batch_id=f"s{b}" if batch_id is None else batch_id, events=events)

    # Batch 2 is refused as a whole (NUL in its id); the others are stored, each answered on its own.
    requests = [batch(0), batch(1), batch(2, batch_id="s\x002"), batch(3), batch(4)]
    replies = list(stub.IngestStream(iter(requests), metadata=ingestion.metadata(), timeout=30))
    assert [(r.index, r.batch_id, r.accepted_count, r.HasField("error")) for r in replies] == [
        (0, "s0", 99, False),
        (1, "s1", 99, False),
        (2, "s\x002", 0, True),
        (3, "s3", 99, False),
        (4, "s4", 99, False),
    ]
    assert [[(r.index, r.code) for r in reply.rejected] for reply in replies] == [
        [(0, "MISSING_EVENT_TYPE")],
        [(1, "MISSING_EVENT_TYPE")],
        [],
        [(3, "MISSING_EVENT_TYPE")],
        [(4, "MISSING_EVENT_TYPE")],
    ]
    error = replies[2].error
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "batch_id" in error.message

    # The client resumes with only the refused batch, fixed: every good event is stored once.
    [resumed] = stub.IngestStream(iter([batch(2)]), metadata=ingestion.metadata(), timeout=30)
    assert (resumed.index, resumed.batch_id, resumed.accepted_count) == (0, "s2", 99)
    stored = sorted(e.event_id for b in stored_batches(nats_server.url) for e in b.events)
    assert stored == sorted(f"e{b * 100 + i}" for b in range(5) for i in range(100) if i != b)


def test_a_repeated_event_id_in_one_batch_counts_once_or_is_rejected_when_it_differs(
    ingestion, stub, nats_server
):
    first = event(1, properties={"n": "1"})
    events = [first, event(2), first, event(1, properties={"n": "2"})]
    reply = stub.Ingest(pb.IngestRequest(batch_id="dup", events=events), metadata=ingestion.metadata())
    assert reply.accepted_count == 3
    assert [(r.index, r.code, r.field, r.event_id) for r in reply.rejected] == [
        (3, "DUPLICATE_IN_BATCH", "events[3].event_id", "e1")
    ]
    stored = [e.event_id for batch in stored_batches(nats_server.url) for e in batch.events]
    assert sorted(stored) == ["e1", "e2"]


def test_nul_characters_are_refused_and_the_refusal_is_listed_on_either_database(
    ingestion, stub, nats_server
):
    events = [event(0), event(1, event_id="e\x001"), event(2, properties={"note": "a\x00b"})]
    reply = stub.Ingest(pb.IngestRequest(batch_id="nul", events=events), metadata=ingestion.metadata())
    assert reply.accepted_count == 1
    assert [(r.index, r.code, r.field, r.event_id) for r in reply.rejected] == [
        (1, "INVALID_CHARACTER", "events[1].event_id", "e\ufffd1"),
        (2, "INVALID_CHARACTER", "events[2].properties['note']", "e2"),
    ]
    listed = stub.ListRejected(pb.ListRejectedRequest(), metadata=ingestion.metadata())
    assert sorted(r.event.event_id for r in listed.rejected) == ["e\x001", "e2"]
    assert [e.event_id for batch in stored_batches(nats_server.url) for e in batch.events] == ["e0"]
    with pytest.raises(grpc.RpcError) as raised:
        stub.Ingest(pb.IngestRequest(batch_id="b\x00", events=[event(3)]), metadata=ingestion.metadata())
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "batch_id" in raised.value.details()


def test_calls_without_a_key_are_unauthenticated(ingestion, stub):
    with pytest.raises(grpc.RpcError) as raised:
        stub.Ingest(pb.IngestRequest(events=[event(1)]))
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as raised:
        stub.Ingest(
            pb.IngestRequest(events=[event(1)]), metadata=ingestion.metadata("tly_0123456789abcdef_nope")
        )
    assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_non_numeric_value_is_rejected_once_a_sum_meter_reads_it(ingestion, stub, nats_server):
    def tokens(i, value, event_type="completion"):
        return event(i, event_type=event_type, properties={"tokens": value})

    assert rejection_codes(stub, ingestion, [tokens(1, "lots")], "before") == []

    publish_meter(nats_server.url, "m-tokens", "completion", Aggregation.SUM, "tokens")
    publish_meter(nats_server.url, "m-users", "completion", Aggregation.UNIQUE_COUNT, "user")
    publish_meter(nats_server.url, "m-calls", "api_call", Aggregation.COUNT, "")
    attempt = iter(range(1000))
    wait_for(lambda: rejection_codes(stub, ingestion, [tokens(2, "lots")], f"wait-{next(attempt)}") != [])

    events = [
        tokens(3, "1520"),
        tokens(4, "12k"),
        tokens(5, "lots", event_type="api_call"),
        event(6, event_type="completion", properties={"user": "bob"}),
    ]
    reply = stub.Ingest(pb.IngestRequest(batch_id="values", events=events), metadata=ingestion.metadata())
    assert reply.accepted_count == 3
    [rejected] = reply.rejected
    assert (rejected.index, rejected.code, rejected.field) == (
        1,
        "VALUE_NOT_A_NUMBER",
        "events[1].properties['tokens']",
    )
    assert "'12k'" in rejected.reason

    listed = stub.ListRejected(
        pb.ListRejectedRequest(code="VALUE_NOT_A_NUMBER"), metadata=ingestion.metadata()
    )
    assert ("values", 1, "e4") in [(r.batch_id, r.index, r.event.event_id) for r in listed.rejected]

    # Deleting the meter (a newer change) lifts the requirement.
    publish_meter(
        nats_server.url,
        "m-tokens",
        "completion",
        Aggregation.SUM,
        "tokens",
        deleted=True,
        version=2,
    )
    wait_for(lambda: rejection_codes(stub, ingestion, [tokens(7, "lots")], f"after-{next(attempt)}") == [])


def test_list_rejected_filters_by_code_and_time_and_pages(ingestion, stub):
    def send(batch_id, events):
        stub.Ingest(pb.IngestRequest(batch_id=batch_id, events=events), metadata=ingestion.metadata())

    send("early", [event(i, customer="") for i in range(3)])
    time.sleep(1.1)
    middle = datetime.now(UTC)
    send("late", [event(10 + i, customer="") for i in range(2)] + [event(20, event_type="")])

    def listed(**filters):
        page_size = filters.pop("page_size", 0)
        token = filters.pop("page_token", "")
        return stub.ListRejected(
            pb.ListRejectedRequest(page={"page_size": page_size, "page_token": token}, **filters),
            metadata=ingestion.metadata(),
        )

    def stamp(moment):
        wire = Timestamp()
        wire.FromDatetime(moment)
        return wire

    by_code = listed(code="MISSING_EVENT_TYPE")
    assert [(r.batch_id, r.index) for r in by_code.rejected] == [("late", 2)]
    since = listed(from_time=stamp(middle))
    assert [(r.batch_id, r.index) for r in since.rejected] == [("late", 2), ("late", 1), ("late", 0)]
    until = listed(to_time=stamp(middle), code="MISSING_CUSTOMER")
    assert [(r.batch_id, r.index) for r in until.rejected] == [("early", 2), ("early", 1), ("early", 0)]
    assert listed(to_time=stamp(middle - timedelta(hours=1))).rejected == []
    assert [r.batch_id for r in listed(producer_id="admin").rejected] == ["late"] * 3 + ["early"] * 3
    assert listed(producer_id="producer:someone-else").rejected == []

    pages, token = [], ""
    while True:
        page = listed(page_size=4, page_token=token)
        pages.append([(r.batch_id, r.index) for r in page.rejected])
        token = page.page.next_page_token
        if not token:
            break
    assert pages == [
        [("late", 2), ("late", 1), ("late", 0), ("early", 2)],
        [("early", 1), ("early", 0)],
    ]
