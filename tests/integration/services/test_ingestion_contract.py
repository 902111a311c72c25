"""Ingest's error contract against a real process: corrupt requests, the numeric domain, customer ids,
timestamps, a reused batch_id, and a fuzz of whole requests (every answer per event or INVALID_ARGUMENT)."""

import re
import time

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_ingestion_service import (  # noqa: F401  (fixtures)
    event,
    ingestion,
    now_ms,
    publish_meter,
    rejection_codes,
    stored_batches,
    stub,
    wait_for,
)

from tally.api.ingestion.v1 import events_pb2
from tally.api.ingestion.v1 import ingestion_service_pb2 as pb
from tally.mesh.errors import field_violations
from tally.metering.domain import Aggregation

INGEST = "/tally.api.ingestion.v1.IngestionService/Ingest"


@pytest.fixture
def service(request, database_url):
    """The ingestion process (test_ingestion_service's fixture)."""
    return request.getfixturevalue("ingestion")


@pytest.fixture
def client(request, database_url):
    """An authenticated IngestionService stub on it."""
    return request.getfixturevalue("stub")


def tokens(i, value):
    return event(i, event_type="completion", properties={"tokens": value})


@pytest.fixture
def sum_meter(service, client, nats_server):
    """A SUM meter reading ``tokens`` of ``completion`` events, applied by service."""
    publish_meter(nats_server.url, "m-tokens", "completion", Aggregation.SUM, "tokens")
    attempt = iter(range(1000))
    wait_for(lambda: rejection_codes(client, service, [tokens(0, "x")], f"wait-{next(attempt)}") != [])


def test_a_corrupt_request_is_invalid_argument_naming_the_request(service):
    invalid_utf8_batch_id = b"\x0a\x02\xc3\x28"  # field 1 (batch_id), 2 bytes that are not UTF-8
    truncated = b"\x12\x10\x0a\x01"  # field 2 (events) announces 16 bytes, carries 2
    with grpc.insecure_channel(service.target) as channel:
        ingest = channel.unary_unary(INGEST, request_serializer=None, response_deserializer=None)
        for corrupt in (invalid_utf8_batch_id, truncated):
            with pytest.raises(grpc.RpcError) as raised:
                ingest(corrupt, metadata=service.metadata(), timeout=10)
            assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert [v.field for v in field_violations(raised.value)] == ["request"]
            assert "not a valid IngestRequest" in raised.value.details()


def test_meter_values_outside_the_numeric_domain_are_refused_per_event_and_neighbours_stored(
    service, client, nats_server, sum_meter
):
    values = [
        "1E+999999",
        "1_000",
        "\u0661\u0662",
        "NaN",
        "1e21",
        "0.0000000000000000001",
        " 5",
        "12.5",
        "1E+3",
    ]
    events = [tokens(100 + i, value) for i, value in enumerate(values)]
    started = time.monotonic()
    reply = client.Ingest(pb.IngestRequest(batch_id="numbers", events=events), metadata=service.metadata())
    assert time.monotonic() - started < 2
    assert reply.accepted_count == 2
    assert [(r.index, r.code, r.field) for r in reply.rejected] == [
        (0, "VALUE_OUT_OF_RANGE", "events[0].properties['tokens']"),
        (1, "VALUE_NOT_A_NUMBER", "events[1].properties['tokens']"),
        (2, "VALUE_NOT_A_NUMBER", "events[2].properties['tokens']"),
        (3, "VALUE_NOT_A_NUMBER", "events[3].properties['tokens']"),
        (4, "VALUE_OUT_OF_RANGE", "events[4].properties['tokens']"),
        (5, "VALUE_OUT_OF_RANGE", "events[5].properties['tokens']"),
        (6, "VALUE_NOT_A_NUMBER", "events[6].properties['tokens']"),
    ]
    assert "below 10^21" in reply.rejected[4].reason
    stored = [
        (e.event_id, e.properties["tokens"])
        for b in stored_batches(nats_server.url)
        for e in b.events
        if b.batch_id == "numbers"
    ]
    assert stored == [("e107", "12.5"), ("e108", "1E+3")]


def test_blank_customers_old_timestamps_and_nfc_customer_ids(service, client, nats_server):
    decomposed = "cafe\u0301"  # "café" as e + combining acute accent
    events = [
        event(1, customer="   "),
        event(2, timestamp_ms=-1),
        event(3, timestamp_ms=0),
        event(4, timestamp_ms=now_ms() - 40 * 24 * 3600 * 1000),
        event(5, customer=decomposed),
        event(6, customer="caf\u00e9"),
    ]
    reply = client.Ingest(pb.IngestRequest(batch_id="shapes", events=events), metadata=service.metadata())
    assert [(r.index, r.code, r.field) for r in reply.rejected] == [
        (0, "MISSING_CUSTOMER", "events[0].customer"),
        (1, "TIMESTAMP_TOO_OLD", "events[1].timestamp_ms"),
        (2, "MISSING_TIMESTAMP", "events[2].timestamp_ms"),
        (3, "TIMESTAMP_TOO_OLD", "events[3].timestamp_ms"),
    ]
    stored = {e.event_id: e.customer for b in stored_batches(nats_server.url) for e in b.events}
    assert stored == {"e5": "caf\u00e9", "e6": "caf\u00e9"}


def test_a_reused_batch_id_with_other_events_is_stored_in_full_and_a_retry_once(service, client, nats_server):
    first = [event(i) for i in range(100)]
    second = [event(1000 + i) for i in range(100)]
    answers = [
        client.Ingest(pb.IngestRequest(batch_id="reused", events=events), metadata=service.metadata())
        for events in (first, second, first, second)
    ]
    assert [a.accepted_count for a in answers] == [100, 100, 100, 100]
    stored = [e.event_id for b in stored_batches(nats_server.url) for e in b.events]
    assert sorted(stored) == sorted(e.event_id for e in first + second)


# -- fuzz ---------------------------------------------------------------------------------------------

CODES = {
    "MISSING_EVENT_ID",
    "EVENT_ID_TOO_LONG",
    "MISSING_CUSTOMER",
    "CUSTOMER_TOO_LONG",
    "MISSING_EVENT_TYPE",
    "EVENT_TYPE_TOO_LONG",
    "MISSING_TIMESTAMP",
    "TIMESTAMP_IN_FUTURE",
    "TIMESTAMP_TOO_OLD",
    "TOO_MANY_PROPERTIES",
    "PROPERTY_NAME_INVALID",
    "PROPERTY_VALUE_TOO_LONG",
    "INVALID_CHARACTER",
    "VALUE_NOT_A_NUMBER",
    "VALUE_OUT_OF_RANGE",
    "DUPLICATE_IN_BATCH",
}
"""Exactly the codes the proto comment of RejectedEvent.code lists."""
FIELD = re.compile(r"events\[\d+\]\.(event_id|customer|event_type|timestamp_ms|properties(\['.*'\])?)", re.S)

texts = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["", " ", "\x00", "a\x00b", "x" * 256, "cafe\u0301", "\ud7ff", "\U0001f600"]),
)
numbers = st.one_of(
    st.sampled_from(
        ["1", "-2.5", "1E+999999", "1_000", "\u0661", "NaN", "inf", "", "1e21", "0." + "0" * 30 + "1"]
    ),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.text(alphabet="0123456789.eE+-_ ", max_size=12),
)
timestamps = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from([0, -1, 1]),
    st.integers(min_value=-(10**9), max_value=10**9).map(lambda delta: now_ms() + delta),
)
fuzzed_events = st.builds(
    lambda event_id, customer, event_type, timestamp_ms, value, extra: events_pb2.UsageEvent(
        event_id=event_id,
        customer=customer,
        event_type=event_type,
        timestamp_ms=timestamp_ms,
        properties={"tokens": value, **extra},
    ),
    texts.map(lambda t: "f" + t if t else t),
    texts,
    st.one_of(st.just("completion"), texts),
    timestamps,
    numbers,
    st.dictionaries(texts, texts, max_size=3),
)


def test_fuzzed_requests_are_answered_per_event_or_invalid_argument_and_valid_neighbours_count(
    service, client, nats_server, sum_meter
):
    neighbours: list[str] = []

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        batch_id=st.one_of(st.just(""), st.text(max_size=10), st.sampled_from(["b\x00", "x" * 256])),
        fuzz=st.lists(fuzzed_events, max_size=6),
        position=st.integers(min_value=0, max_value=6),
        backfill=st.booleans(),
    )
    def one_request(batch_id, fuzz, position, backfill):
        neighbour = tokens(0, "7")
        neighbour.event_id = f"valid-{time.monotonic_ns()}"
        events = list(fuzz)
        events.insert(min(position, len(events)), neighbour)
        at = events.index(neighbour)
        request = pb.IngestRequest(batch_id=batch_id, events=events, backfill=backfill)
        try:
            reply = client.Ingest(request, metadata=service.metadata(), timeout=10)
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
            assert {v.field for v in field_violations(error)} <= {"batch_id", "events", "request"}
            return
        assert reply.accepted_count == len(events) - len(reply.rejected)
        assert at not in [r.index for r in reply.rejected]
        for rejected in reply.rejected:
            assert rejected.code in CODES
            assert FIELD.fullmatch(rejected.field), rejected.field
            assert rejected.field.startswith(f"events[{rejected.index}].")
        neighbours.append(neighbour.event_id)

    one_request()
    assert neighbours  # most generated batch ids are valid, so most calls were answered per event
    stored = {e.event_id for b in stored_batches(nats_server.url) for e in b.events}
    assert set(neighbours) <= stored
