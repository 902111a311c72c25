"""Usage batches as JSON: parsed into the gRPC IngestRequest with per-field errors, answered per event."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from tally.api.ingestion.v1 import events_pb2
from tally.api.ingestion.v1 import ingestion_service_pb2 as ing
from tally.domain.errors import FieldViolation, InvalidArgument

MAX_BODY_BYTES = 5 * 1024 * 1024
"""Ingestion takes batches up to 4 MiB of protobuf; JSON is a little larger for the same events."""

_EVENT_FIELDS = {"event_id", "customer", "event_type", "timestamp_ms", "properties"}


def _text(value: Any, field: str, problems: list[FieldViolation]) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        problems.append(FieldViolation(field, f"must be a string, got {type(value).__name__}"))
        return ""
    return value


def _property(value: Any, field: str, problems: list[FieldViolation]) -> str:
    # Numbers are kept exactly as written (parsed as Decimal, never float).
    if isinstance(value, str):
        return value
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)
    problems.append(FieldViolation(field, f"must be a string or a number, got {type(value).__name__}"))
    return ""


def _timestamp(value: Any, field: str, problems: list[FieldViolation]) -> int:
    if value is None:
        return 0
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**63:
        problems.append(FieldViolation(field, "must be milliseconds since the epoch, a whole number"))
        return 0
    return value


def parse_batch(body: bytes) -> ing.IngestRequest:
    """The IngestRequest for a JSON body; InvalidArgument names every field that is not of the right type.

    Values of the right type are not judged here: ingestion judges each event, as for a gRPC batch.
    """
    try:
        document = json.loads(body, parse_float=Decimal, parse_constant=lambda name: name)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgument.field("body", f"is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise InvalidArgument.field("body", "must be a JSON object with an 'events' list")
    problems: list[FieldViolation] = []
    unknown = sorted(set(document) - {"batch_id", "backfill", "events"})
    if unknown:
        problems.append(FieldViolation(unknown[0], "is not a field of a batch (batch_id, backfill, events)"))
    batch_id = _text(document.get("batch_id"), "batch_id", problems)
    backfill = document.get("backfill", False)
    if not isinstance(backfill, bool):
        problems.append(FieldViolation("backfill", "must be true or false"))
        backfill = False
    raw_events = document.get("events")
    if not isinstance(raw_events, list):
        raise InvalidArgument([*problems, FieldViolation("events", "must be a list of events")])
    events = []
    for index, raw in enumerate(raw_events):
        at = f"events[{index}]"
        if not isinstance(raw, dict):
            problems.append(FieldViolation(at, "must be an object"))
            continue
        for name in sorted(set(raw) - _EVENT_FIELDS):
            problems.append(
                FieldViolation(
                    f"{at}.{name}", f"is not a field of an event ({', '.join(sorted(_EVENT_FIELDS))})"
                )
            )
        properties = raw.get("properties") or {}
        if not isinstance(properties, dict):
            problems.append(FieldViolation(f"{at}.properties", "must be an object of names to values"))
            properties = {}
        events.append(
            events_pb2.UsageEvent(
                event_id=_text(raw.get("event_id"), f"{at}.event_id", problems),
                customer=_text(raw.get("customer"), f"{at}.customer", problems),
                event_type=_text(raw.get("event_type"), f"{at}.event_type", problems),
                timestamp_ms=_timestamp(raw.get("timestamp_ms"), f"{at}.timestamp_ms", problems),
                properties={
                    str(name): _property(value, f"{at}.properties['{name}']", problems)
                    for name, value in properties.items()
                },
            )
        )
    if problems:
        raise InvalidArgument(problems)
    return ing.IngestRequest(batch_id=batch_id, backfill=backfill, events=events)


def batch_answer(request: ing.IngestRequest, reply: ing.IngestResponse) -> tuple[int, dict[str, Any]]:
    """200 when every event was accepted, 207 when some were, 400 when none was; each event's own status."""
    rejected = {r.index: r for r in reply.rejected}
    events: list[dict[str, Any]] = []
    for index, event in enumerate(request.events):
        if index in rejected:
            r = rejected[index]
            events.append(
                {
                    "index": index,
                    "event_id": r.event_id,
                    "status": 400,
                    "code": r.code,
                    "field": r.field,
                    "reason": r.reason,
                }
            )
        else:
            events.append({"index": index, "event_id": event.event_id, "status": 202})
    body = {
        "batch_id": reply.batch_id,
        "accepted_count": reply.accepted_count,
        "rejected": [
            {"index": r.index, "event_id": r.event_id, "code": r.code, "field": r.field, "reason": r.reason}
            for r in reply.rejected
        ],
        "events": events,
    }
    if not rejected:
        return 200, body
    if reply.accepted_count:
        return 207, body
    return 400, {
        "type": "urn:tally:problem:invalid-argument",
        "title": "invalid argument",
        "status": 400,
        "detail": f"all {len(rejected)} events were rejected",
        "errors": [{"field": r.field, "reason": f"{r.code}: {r.reason}"} for r in reply.rejected],
        **body,
    }
