"""Webhook rules: the event types an endpoint may subscribe to, endpoint validation, the retry schedule,
when an endpoint is switched off, and the Standard Webhooks message and signature."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from standardwebhooks import Webhook

from tally.domain.errors import FieldViolation, InvalidArgument

EVENT_TYPES: Mapping[str, str] = {
    "invoice.finalized": "an invoice was finalized (numbered and frozen); data: the invoice",
    "invoice.paid": "payments (and credit notes) settled an invoice in full; data: the invoice, now PAID",
    "payment.recorded": "a payment against an invoice was recorded in the ERP; data: the payment",
    "credit_note.issued": "a credit note was issued; data: the credit note",
    "alert.triggered": "a spend or usage alert of a subscription fired; data: kind (spend|usage) and the alert",
    "usage.late": "usage of a past period changed (late, amended or voided events); data: the change",
    "quote.accepted": "a customer accepted a quote; data: the accepted terms",
}
"""What an endpoint may subscribe to. ERP posting failures are not here: erp-sync publishes no event for them."""

DEFAULT_RETRY_SCHEDULE_S: tuple[float, ...] = (
    5, 60, 300, 1800, 7200, 18000, 36000, 50400, 72000, 72000,
)  # fmt: skip
"""Waits before each retry after a failed attempt: 5 s, 1 min, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h,
20 h. Eleven attempts spread over just under three days (257,765 s), then the delivery is given up."""

MAX_URL_CHARS = 2048
MAX_DESCRIPTION_CHARS = 500
SECRET_PREFIX = "whsec_"


@dataclass(frozen=True)
class EndpointInput:
    """A validated endpoint registration."""

    url: str
    event_types: tuple[str, ...]
    description: str


def validate_endpoint(url: object, event_types: object, description: object) -> EndpointInput:
    """An endpoint to register, or InvalidArgument naming every bad field."""
    problems: list[FieldViolation] = []
    if not isinstance(url, str) or not url:
        problems.append(FieldViolation("url", "is required: an http:// or https:// URL"))
        url = ""
    else:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append(FieldViolation("url", f"must be an absolute http(s) URL, got {url[:80]!r}"))
        elif len(url) > MAX_URL_CHARS:
            problems.append(FieldViolation("url", f"must be at most {MAX_URL_CHARS} characters"))
        elif parts.username or parts.password:
            problems.append(FieldViolation("url", "must not carry credentials; the signature authenticates"))
    types: list[str] = []
    if not isinstance(event_types, list) or not event_types:
        problems.append(FieldViolation("event_types", f"must be a non-empty list of {sorted(EVENT_TYPES)}"))
    else:
        for index, name in enumerate(event_types):
            if not isinstance(name, str) or name not in EVENT_TYPES:
                problems.append(
                    FieldViolation(
                        f"event_types[{index}]", f"unknown event type {name!r}: one of {sorted(EVENT_TYPES)}"
                    )
                )
            elif name not in types:
                types.append(name)
    if description is None:
        description = ""
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION_CHARS:
        problems.append(
            FieldViolation("description", f"must be text of at most {MAX_DESCRIPTION_CHARS} characters")
        )
        description = ""
    if any("\x00" in text for text in (url, description)):
        problems.append(FieldViolation("url" if "\x00" in url else "description", "must not contain NUL"))
    if problems:
        raise InvalidArgument(problems)
    return EndpointInput(url, tuple(types), description)


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 24 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait after each failed attempt, and when an endpoint has failed for too long."""

    schedule_s: Sequence[float] = DEFAULT_RETRY_SCHEDULE_S
    disable_after: int = 30
    """Consecutive failed attempts across an endpoint's deliveries after which it is disabled."""

    def next_delay(self, failed_attempts: int) -> float | None:
        """Seconds until the next attempt after ``failed_attempts`` failures; None: give the delivery up."""
        if failed_attempts < 1 or failed_attempts > len(self.schedule_s):
            return None
        return float(self.schedule_s[failed_attempts - 1])

    def should_disable(self, consecutive_failures: int) -> bool:
        return consecutive_failures >= self.disable_after


def succeeded(status: int | None) -> bool:
    """Standard Webhooks: any 2xx acknowledges; everything else, and no answer at all, is a failure."""
    return status is not None and 200 <= status < 300


def message_body(event_type: str, occurred_at: datetime, data: Mapping[str, Any]) -> bytes:
    """The JSON body every endpoint receives for one message (the same bytes on every attempt)."""
    document = {"type": event_type, "timestamp": occurred_at.isoformat().replace("+00:00", "Z"), "data": data}
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def signed_headers(secret: str, message_id: str, sent_at: datetime, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt: id (stable across retries), timestamp, signature."""
    signature = Webhook(secret).sign(message_id, sent_at, body)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }
