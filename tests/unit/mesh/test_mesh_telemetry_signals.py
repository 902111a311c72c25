"""Telemetry beyond spans: the resource, the exporter choice from the environment, metrics, logs (OTLP and JSON
on stdout) and SQL statement spans."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.metrics import Observation
from opentelemetry.sdk.metrics import MeterProvider
from sqlalchemy import text

from tally.mesh import metrics, telemetry
from tally.mesh.settings import MeshSettings, load
from tally.persistence.engine import create_engine


@pytest.fixture(autouse=True)
def _no_inherited_otel(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES"):
        monkeypatch.delenv(variable, raising=False)


def points(handle: telemetry.TelemetryHandle, name: str) -> list:
    data = handle.metrics_data()
    if data is None:  # nothing recorded at all
        return []
    return [
        point
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == name
        for point in metric.data.data_points
    ]


def test_the_resource_names_service_version_and_instance_and_takes_the_standard_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    own = telemetry.resource("erp_sync").attributes
    assert own["service.name"] == "erp_sync"
    assert own["service.version"] == telemetry.service_version("erp_sync") != "unknown"
    assert own["service.namespace"] == "tally" and own["service.instance.id"]

    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "k8s.pod.name=erp-sync-7f9,service.version=2.4.0")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "billing-erp")
    renamed = telemetry.resource("erp_sync").attributes
    assert renamed["service.name"] == "billing-erp"
    assert renamed["k8s.pod.name"] == "erp-sync-7f9"
    assert renamed["service.version"] == "2.4.0"  # the platform's label (an image tag) wins


def settings_from(environ: dict[str, str]) -> MeshSettings:
    return load(
        MeshSettings,
        {
            "TALLY_DATABASE_URL": "sqlite://",
            "TALLY_NATS_URL": "n",
            "TALLY_KEYRING": "k",
            "TALLY_SERVICE_TOKEN": "t",
        }
        | environ,
    )


def test_metrics_and_logs_follow_spans_unless_the_standard_variables_say_otherwise(tmp_path: Path) -> None:
    files = telemetry.configure_service(
        "catalog", settings_from({"TALLY_TRACE_EXPORT": f"file:{tmp_path}/s"})
    )
    assert (files.meter_provider.__class__.__name__, files.logger_provider) == ("NoOpMeterProvider", None)
    files.shutdown()

    chosen = telemetry.configure_service(
        "catalog",
        settings_from(
            {
                "OTEL_TRACES_EXPORTER": "memory",
                "OTEL_METRICS_EXPORTER": "memory",
                "OTEL_LOGS_EXPORTER": "memory",
            }
        ),
    )
    assert chosen.export == "memory" and isinstance(chosen.meter_provider, MeterProvider)
    assert chosen.log_memory is not None
    chosen.shutdown()

    off = telemetry.configure_service("catalog", settings_from({"OTEL_SDK_DISABLED": "true"}))
    assert isinstance(off.provider, trace.NoOpTracerProvider) and off.logger_provider is None


def test_instruments_record_on_the_provider_configured_now() -> None:
    first = telemetry.configure("invoicing", "none", metrics="memory")
    metrics.INVOICES_FINALIZED.add(2)
    second = telemetry.configure("invoicing", "none", metrics="memory")
    metrics.INVOICES_FINALIZED.add(3)
    metrics.RPC_SERVER_DURATION.record(0.02, {"rpc.method": "RunBilling"})

    assert [p.value for p in points(second, "tally.invoices.finalized")] == [3]
    (histogram,) = points(second, "rpc.server.call.duration")
    assert (histogram.count, histogram.sum) == (1, 0.02)
    assert list(histogram.explicit_bounds) == list(metrics.DURATION_BUCKETS_S)
    second.shutdown()
    del first


def test_observed_gauges_report_every_reading_and_skip_one_that_fails() -> None:
    handle = telemetry.configure("metering", "none", metrics="memory")

    def broken() -> list[Observation]:
        raise ConnectionError("nats away")

    stops = [
        metrics.OUTBOX_BACKLOG.observe(lambda: [Observation(7)]),
        metrics.OUTBOX_BACKLOG.observe(broken),
    ]
    assert [p.value for p in points(handle, "tally.outbox.backlog")] == [7]
    for stop in stops:
        stop()
    assert points(handle, "tally.outbox.backlog") == []
    handle.shutdown()


def test_log_records_reach_the_logger_provider_in_the_trace_they_happened_in() -> None:
    handle = telemetry.configure("quoting", "memory", logs="memory")
    log = logging.getLogger("tally.quoting.test")
    log.setLevel(logging.INFO)
    with telemetry.tracer("test").start_as_current_span("accept quote") as span:
        log.warning("quote %s accepted late", "Q-7")
    log.info("outside any span")
    handle.shutdown()

    inside, outside = (record.log_record for record in handle.finished_logs())
    assert (inside.body, inside.severity_text) == ("quote Q-7 accepted late", "WARNING")
    assert inside.trace_id == span.get_span_context().trace_id
    assert inside.span_id == span.get_span_context().span_id
    assert outside.trace_id in (None, 0)
    assert not [h for h in logging.getLogger().handlers if isinstance(h, telemetry._LogBridge)]


def test_json_log_lines_carry_the_trace_and_span_ids() -> None:
    telemetry.configure("ingestion", "memory")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(telemetry.JsonLogFormatter("ingestion"))
    log = logging.getLogger("tally.ingestion.json-test")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        with telemetry.tracer("test").start_as_current_span("ingest") as span:
            log.info("batch %s stored", "b-1")
        try:
            raise ValueError("bad batch")
        except ValueError:
            log.exception("failed")
    finally:
        log.removeHandler(handler)
    inside, failed = (json.loads(line) for line in stream.getvalue().splitlines())
    context = span.get_span_context()
    assert inside["message"] == "batch b-1 stored" and inside["service"] == "ingestion"
    assert inside["trace_id"] == f"{context.trace_id:032x}" and inside["span_id"] == f"{context.span_id:016x}"
    assert inside["level"] == "INFO" and inside["logger"] == "tally.ingestion.json-test"
    assert "trace_id" not in failed and "ValueError: bad batch" in failed["exception"]


def test_sql_statements_are_spans_inside_traced_work_only(tmp_path: Path) -> None:
    handle = telemetry.configure("catalog", "memory")
    engine = create_engine(f"sqlite:///{tmp_path}/catalog.db")
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))  # a poll outside any operation: no span, no trace of its own
        with telemetry.tracer("test").start_as_current_span("CreateCustomer") as parent:
            conn.execute(text("SELECT 2"))
    engine.dispose()

    spans = handle.finished_spans()
    (statement,) = [s for s in spans if s.name != "CreateCustomer"]
    assert statement.attributes is not None and statement.attributes["db.system"] == "sqlite"
    assert statement.attributes["db.statement"] == "SELECT 2"
    assert statement.parent is not None and statement.parent.span_id == parent.get_span_context().span_id
    handle.shutdown()


def test_work_on_another_thread_carries_the_message_trace_it_was_given(tmp_path: Path) -> None:
    """What metering needs for UsageLate: the delivery's context, passed to the outbox from its writer thread."""
    import threading

    from opentelemetry import propagate
    from sqlalchemy import MetaData

    from tally.persistence import outbox

    handle = telemetry.configure("metering", "memory")
    engine = create_engine(f"sqlite:///{tmp_path}/metering.db")
    table = outbox.outbox_table(MetaData())
    table.metadata.create_all(engine)
    headers: dict[str, str] = {}
    with telemetry.tracer("test").start_as_current_span("tally.usage.batches.3 publish") as producer:
        propagate.inject(headers)

    def writer() -> None:  # no span is current on this thread
        with engine.begin() as conn:
            outbox.enqueue(
                conn, "tally.metering.usage_late", b"x", "late-1", context=telemetry.context_of(headers)
            )

    thread = threading.Thread(target=writer)
    thread.start()
    thread.join()
    with engine.connect() as conn:
        stored = json.loads(conn.execute(table.select()).one().headers)
    engine.dispose()
    handle.shutdown()
    assert stored["traceparent"].split("-")[1] == f"{producer.get_span_context().trace_id:032x}"
