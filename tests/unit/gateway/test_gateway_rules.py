"""The gateway's pure rules: signed links, who may read whom, webhook validation, retries, JSON batches."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from tally.domain.errors import InvalidArgument, PermissionDenied
from tally.gateway.domain import tokens
from tally.gateway.domain.access import Viewer, customer_viewer
from tally.gateway.domain.periods import monthly_recurring, previous_period
from tally.gateway.domain.webhooks import (
    DEFAULT_RETRY_SCHEDULE_S,
    RetryPolicy,
    message_body,
    new_secret,
    signed_headers,
    validate_endpoint,
)
from tally.gateway.web.ingest_json import parse_batch

KEY = tokens.SigningKey("k1", b"s" * 32)


def test_a_link_opens_for_its_customer_until_it_expires():
    token = tokens.sign(tokens.Claims(tokens.PORTAL, "cust-1", expires_at=1000), KEY)
    assert tokens.verify(token, {"k1": KEY}, audience=tokens.PORTAL, now=999).subject == "cust-1"
    with pytest.raises(tokens.TokenRefused, match="expired"):
        tokens.verify(token, {"k1": KEY}, audience=tokens.PORTAL, now=1000)


@pytest.mark.parametrize("mangle", [
    lambda t: t.replace(t.split(".")[0], tokens.sign(tokens.Claims("portal", "cust-2", 1000), KEY).split(".")[0]),
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
    lambda t: t.split(".")[0],
    lambda t: "",
])  # fmt: skip
def test_a_tampered_or_malformed_link_is_refused(mangle):
    token = tokens.sign(tokens.Claims(tokens.PORTAL, "cust-1", expires_at=1000), KEY)
    with pytest.raises(tokens.TokenRefused):
        tokens.verify(mangle(token), {"k1": KEY}, audience=tokens.PORTAL, now=1)


def test_a_link_signed_by_an_unknown_key_or_for_the_console_does_not_open_the_portal():
    other = tokens.SigningKey("k2", b"o" * 32)
    with pytest.raises(tokens.TokenRefused, match="signature"):
        tokens.verify(
            tokens.sign(tokens.Claims("portal", "c", 10), other), {"k1": KEY}, audience="portal", now=1
        )
    with pytest.raises(tokens.TokenRefused, match="not a portal link"):
        tokens.verify(
            tokens.sign(tokens.Claims("console", "c", 10), KEY), {"k1": KEY}, audience="portal", now=1
        )


def test_a_customer_viewer_reads_its_own_customer_only_and_an_operator_reads_all():
    viewer = customer_viewer("cust-1", "key k")
    viewer.ensure_may_read("cust-1")
    with pytest.raises(PermissionDenied):
        viewer.ensure_may_read("cust-2")
    Viewer("admin", None).ensure_may_read("cust-2")


def test_endpoint_registration_names_every_bad_field():
    with pytest.raises(InvalidArgument) as caught:
        validate_endpoint("ftp://x", ["invoice.finalized", "nope"], 5)
    assert [v.field for v in caught.value.violations] == ["url", "event_types[1]", "description"]
    assert validate_endpoint("https://h/x", ["alert.triggered"] * 2, None).event_types == ("alert.triggered",)


def test_retries_spread_over_just_under_three_days_then_stop():
    policy = RetryPolicy()
    assert sum(DEFAULT_RETRY_SCHEDULE_S) == 257_765
    assert [policy.next_delay(n) for n in (1, 2, 10)] == [5.0, 60.0, 72000.0]
    assert policy.next_delay(11) is None
    assert not policy.should_disable(29)
    assert policy.should_disable(30)


def test_each_attempt_is_signed_so_the_standard_webhooks_verifier_accepts_it():
    secret = new_secret()
    now = datetime.now(UTC)
    body = message_body("invoice.finalized", now, {"invoice": {"id": "i-1", "total": {"amount": "1.10"}}})
    headers = signed_headers(secret, "msg_1", now, body)
    assert Webhook(secret).verify(body, headers)["data"]["invoice"]["total"]["amount"] == "1.10"
    with pytest.raises(Exception, match="signature"):
        Webhook(new_secret()).verify(body, headers)


def test_the_period_before_a_calendar_month_is_the_previous_month_and_mrr_is_per_month():
    start, end = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
    assert previous_period(start, end) == (datetime(2026, 2, 1, tzinfo=UTC), start)
    from decimal import Decimal

    assert monthly_recurring([(Decimal("49.00"), "MONTHLY"), (Decimal("120"), "ANNUAL")]) == Decimal("59.00")


def test_a_json_batch_keeps_numbers_exact_and_names_fields_of_the_wrong_type():
    batch = parse_batch(
        b'{"batch_id": "b", "events": [{"event_id": "e", "customer": "c", "event_type": "t", '
        b'"timestamp_ms": 5, "properties": {"gb": 0.1000000000000000055511151231257827}}]}'
    )
    assert batch.events[0].properties["gb"] == "0.1000000000000000055511151231257827"
    with pytest.raises(InvalidArgument) as caught:
        parse_batch(b'{"events": [{"event_id": 1, "properties": {"x": true}, "extra": 1}, 3]}')
    assert [v.field for v in caught.value.violations] == [
        "events[0].extra", "events[0].event_id", "events[0].properties['x']", "events[1]",
    ]  # fmt: skip
