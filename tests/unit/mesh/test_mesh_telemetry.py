"""Telemetry configuration: reconfigurable per process, and the JSON-lines span file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from opentelemetry import trace

from tally.mesh import telemetry


def test_reconfiguring_redirects_tracers_fetched_earlier() -> None:
    early = telemetry.tracer("early")
    first = telemetry.configure("catalog", "memory")
    with early.start_as_current_span("one"):
        pass
    second = telemetry.configure("quoting", "memory")
    with early.start_as_current_span("two"):
        pass
    second.shutdown()

    assert [s.name for s in first.finished_spans()] == ["one"]
    assert [(s.name, s.resource.attributes["service.name"]) for s in second.finished_spans()] == [
        ("two", "quoting")
    ]
    assert second.finished_spans()[0].resource.attributes["service.namespace"] == "tally"


def test_file_export_writes_one_json_object_per_span(tmp_path: Path) -> None:
    path = tmp_path / "spans" / "trace.jsonl"
    handle = telemetry.configure("invoicing", f"file:{path}")
    tracer = telemetry.tracer("test")
    with tracer.start_as_current_span("finalize", kind=trace.SpanKind.SERVER) as parent:
        parent.set_attribute("tally.invoice", "INV-9")
        with tracer.start_as_current_span("render-pdf", attributes={"pages": 2}):
            pass
    # Readable before shutdown: another process tails this file while the service runs.
    child, root = (json.loads(line) for line in path.read_text().splitlines())
    handle.shutdown()

    assert root["name"] == "finalize" and root["kind"] == "SERVER" and root["parent_span_id"] is None
    assert root["service"] == "invoicing"
    assert root["attributes"] == {"tally.invoice": "INV-9"}
    assert child["trace_id"] == root["trace_id"] and len(root["trace_id"]) == 32
    assert child["parent_span_id"] == root["span_id"] and len(root["span_id"]) == 16
    assert child["attributes"] == {"pages": 2}
    assert root["start_time_unix_nano"] <= child["start_time_unix_nano"] <= child["end_time_unix_nano"]
    assert root["status"]["code"] == "UNSET" and root["links"] == []


def test_none_export_records_nothing_and_unknown_export_fails_fast() -> None:
    telemetry.configure("erp-sync", "none")
    with telemetry.tracer("test").start_as_current_span("ignored") as span:
        assert not span.is_recording()
    with pytest.raises(ValueError, match="unknown trace export 'jaeger'"):
        telemetry.configure("erp-sync", "jaeger")
