"""A batch's identity is its id and its content: the digest in every Nats-Msg-Id of the batch."""

from tally.api.ingestion.v1 import events_pb2
from tally.ingestion.publisher import content_digest


def event(event_id, **properties):
    return events_pb2.UsageEvent(
        event_id=event_id, customer="acme", event_type="api_call", timestamp_ms=1, properties=properties
    )


def test_the_same_events_give_the_same_digest_whatever_the_property_order():
    first = [event("a", x="1", y="2"), event("b")]
    again = [event("a", y="2", x="1"), event("b")]
    assert content_digest(False, first) == content_digest(False, again)


def test_other_events_order_or_flag_give_another_digest():
    events = [event("a"), event("b")]
    digests = {
        content_digest(False, events),
        content_digest(False, events[::-1]),
        content_digest(True, events),
        content_digest(False, [event("a"), event("c")]),
        content_digest(False, [event("a", x="1"), event("b")]),
        content_digest(False, events[:1]),
    }
    assert len(digests) == 6
