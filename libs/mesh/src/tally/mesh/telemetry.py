"""Telemetry: a process's traces, metrics and logs (providers, exporters, resource) and the W3C propagators."""

from __future__ import annotations

import importlib.metadata
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import metrics as otel_metrics
from opentelemetry import propagate, trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import (
    BatchLogRecordProcessor,
    ConsoleLogRecordExporter,
    InMemoryLogRecordExporter,
    LogRecordExporter,
    SimpleLogRecordProcessor,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    InMemoryMetricReader,
    MetricExporter,
    MetricReader,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util import types

if TYPE_CHECKING:
    from tally.mesh.settings import MeshSettings

NAMESPACE = "tally"
EXPORTS = ("otlp", "console", "memory", "none")
"""Where metrics and logs can go (spans also take ``file:<path>``)."""

logger = logging.getLogger(__name__)


class JsonLinesSpanExporter(SpanExporter):
    """Appends one JSON object per finished span to a file, for tests and tools in other processes."""

    def __init__(self, path: Path) -> None:
        self._path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_APPEND with one write() per batch keeps lines whole when several services share one file.
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        payload = "".join(json.dumps(span_to_json(span), separators=(",", ":")) + "\n" for span in spans)
        with self._lock:
            if self._fd is None:
                return SpanExportResult.FAILURE
            os.write(self._fd, payload.encode())
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        # Every export is a direct write(); there is no user-space buffer to flush.
        return True


def _hex_trace(trace_id: int) -> str:
    return format(trace_id, "032x")


def _hex_span(span_id: int) -> str:
    return format(span_id, "016x")


def _attributes(attributes: types.Attributes) -> dict[str, Any]:
    return {
        key: list(value) if isinstance(value, tuple) else value for key, value in (attributes or {}).items()
    }


def span_to_json(span: ReadableSpan) -> dict[str, Any]:
    """The JSON shape of one span in a ``file:`` export."""
    context = span.get_span_context()
    assert context is not None  # a finished SDK span always has one
    return {
        "trace_id": _hex_trace(context.trace_id),
        "span_id": _hex_span(context.span_id),
        "parent_span_id": _hex_span(span.parent.span_id) if span.parent is not None else None,
        "name": span.name,
        "kind": span.kind.name,
        "service": span.resource.attributes.get("service.name"),
        "start_time_unix_nano": span.start_time,
        "end_time_unix_nano": span.end_time,
        "attributes": _attributes(span.attributes),
        "status": {"code": span.status.status_code.name, "description": span.status.description},
        "events": [
            {
                "name": event.name,
                "time_unix_nano": event.timestamp,
                "attributes": _attributes(event.attributes),
            }
            for event in span.events
        ],
        "links": [
            {
                "trace_id": _hex_trace(link.context.trace_id),
                "span_id": _hex_span(link.context.span_id),
                "attributes": _attributes(link.attributes),
            }
            for link in span.links
        ],
    }


class _SwitchedTracer(trace.Tracer):
    """A tracer that always starts spans on the provider configured now, not the one at import time."""

    def __init__(
        self, switch: _ProviderSwitch, name: str, version: str | None, schema_url: str | None
    ) -> None:
        self._switch = switch
        self._name = name
        self._version = version
        self._schema_url = schema_url
        self._generation = -1
        self._delegate: trace.Tracer = trace.NoOpTracer()

    def _current(self) -> trace.Tracer:
        generation, provider = self._switch.current()
        if generation != self._generation:
            self._delegate = provider.get_tracer(self._name, self._version, self._schema_url)
            self._generation = generation
        return self._delegate

    def start_span(self, *args: Any, **kwargs: Any) -> trace.Span:
        return self._current().start_span(*args, **kwargs)

    @contextmanager
    def start_as_current_span(self, *args: Any, **kwargs: Any) -> Iterator[trace.Span]:  # type: ignore[override]
        with self._current().start_as_current_span(*args, **kwargs) as span:
            yield span


class _ProviderSwitch(trace.TracerProvider):
    """Installed once as the global provider, because OpenTelemetry refuses to replace a global provider.

    ``configure`` swaps the SDK provider behind it, so a test can reconfigure telemetry (a fresh memory
    exporter, another service name) and tracers that modules fetched at import time follow along.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generation = 0
        self._provider: trace.TracerProvider = trace.NoOpTracerProvider()

    def current(self) -> tuple[int, trace.TracerProvider]:
        with self._lock:
            return self._generation, self._provider

    def swap(self, provider: trace.TracerProvider) -> trace.TracerProvider:
        with self._lock:
            previous, self._provider = self._provider, provider
            self._generation += 1
            return previous

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: types.Attributes = None,
    ) -> trace.Tracer:
        return _SwitchedTracer(self, instrumenting_module_name, instrumenting_library_version, schema_url)


_switch = _ProviderSwitch()
_install_lock = threading.Lock()
_installed = False


def _install_switch() -> None:
    global _installed
    with _install_lock:
        if not _installed:
            trace.set_tracer_provider(_switch)
            _installed = True
            if trace.get_tracer_provider() is not _switch:
                # Someone set a global provider before us: our tracers still work, theirs bypass configure.
                logger.warning(
                    "a global tracer provider was set before telemetry.configure; it stays in place"
                )


class _MeterSwitch:
    """The meter provider configured now; instruments (tally.mesh.metrics) follow it as tracers do."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.generation = 0
        """Read without the lock on every measurement: an int read is atomic, and a stale one only means the
        instrument asks ``current`` once more."""
        self._provider: otel_metrics.MeterProvider = otel_metrics.NoOpMeterProvider()
        self._meter = self._provider.get_meter(NAMESPACE)
        self._hooks: list[Callable[[], None]] = []

    def current(self) -> tuple[int, otel_metrics.Meter]:
        with self._lock:
            return self.generation, self._meter

    def swap(self, provider: otel_metrics.MeterProvider) -> otel_metrics.MeterProvider:
        with self._lock:
            previous, self._provider = self._provider, provider
            self._meter = provider.get_meter(NAMESPACE)
            self.generation += 1
            hooks = list(self._hooks)
        for hook in hooks:
            hook()
        return previous

    def on_swap(self, hook: Callable[[], None]) -> None:
        with self._lock:
            self._hooks.append(hook)


_meters = _MeterSwitch()


def current_meter() -> tuple[int, otel_metrics.Meter]:
    """(generation, meter) of the provider configured now; the generation changes at every ``configure``."""
    return _meters.current()


def meter_generation() -> int:
    """The generation of the meter provider configured now, cheaply (instruments check it per measurement)."""
    return _meters.generation


def on_meter_provider_change(hook: Callable[[], None]) -> None:
    """Call ``hook`` after every ``configure`` (observable instruments re-register on the new provider)."""
    _meters.on_swap(hook)


def service_version(service: str) -> str:
    """The version of the service's distribution (``tally-<service>``), else of the mesh itself."""
    for distribution in (f"tally-{service.replace('_', '-')}", "tally-mesh"):
        try:
            return importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "unknown"


def resource(service_name: str) -> Resource:
    """What every span, metric and log record of this process says about where it comes from.

    Ours first, then what the SDK detects over it: its own attributes (``telemetry.sdk.*``, a per-process
    ``service.instance.id`` that tells replicas apart), OTEL_RESOURCE_ATTRIBUTES, and OTEL_SERVICE_NAME over
    ``service.name``. ``service.version`` is always set.
    """
    detected = dict(Resource.create({}).attributes)
    if str(detected.get(SERVICE_NAME, "")).startswith("unknown_service"):
        del detected[SERVICE_NAME]  # the SDK's placeholder when neither variable names the service
    own = Resource(
        {
            SERVICE_NAME: service_name,
            "service.namespace": NAMESPACE,
            "service.version": service_version(service_name),
        }
    )
    return own.merge(Resource(detected))


_PROVIDERS = (TracerProvider, MeterProvider, LoggerProvider)


@dataclass(frozen=True)
class TelemetryHandle:
    """What ``configure`` set up: shut it down at exit so buffered spans, metrics and logs are exported."""

    service_name: str
    export: str
    provider: trace.TracerProvider
    memory: InMemorySpanExporter | None = None
    meter_provider: otel_metrics.MeterProvider | None = None
    metric_memory: InMemoryMetricReader | None = None
    logger_provider: LoggerProvider | None = None
    log_memory: InMemoryLogRecordExporter | None = None

    def finished_spans(self) -> tuple[ReadableSpan, ...]:
        """Spans ended so far; only with ``export="memory"``."""
        if self.memory is None:
            raise RuntimeError(f"telemetry exports to {self.export!r}, not to memory")
        return self.memory.get_finished_spans()

    def metrics_data(self) -> MetricsData | None:
        """Every metric as collected now; only with ``metrics="memory"``."""
        if self.metric_memory is None:
            raise RuntimeError("telemetry does not keep metrics in memory")
        return self.metric_memory.get_metrics_data()

    def finished_logs(self) -> tuple[ReadableLogRecord, ...]:
        """Log records emitted so far; only with ``logs="memory"``."""
        if self.log_memory is None:
            raise RuntimeError("telemetry does not keep logs in memory")
        return self.log_memory.get_finished_logs()

    def force_flush(self) -> None:
        for provider in (self.provider, self.meter_provider, self.logger_provider):
            if isinstance(provider, _PROVIDERS):
                provider.force_flush()

    def shutdown(self) -> None:
        if self.logger_provider is not None:
            _install_log_bridge(None, only=self.logger_provider)
        for provider in (self.provider, self.meter_provider, self.logger_provider):
            if isinstance(provider, _PROVIDERS):
                provider.force_flush()
                provider.shutdown()


def _otlp_span_exporter() -> SpanExporter:
    # Imported here: the gRPC OTLP exporters are heavy and only needed when they are selected.
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    # No arguments: endpoint, headers, TLS and timeout come from the standard OTEL_EXPORTER_OTLP_* variables.
    return OTLPSpanExporter()


def _otlp_metric_exporter() -> MetricExporter:
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

    return OTLPMetricExporter()


def _otlp_log_exporter() -> LogRecordExporter:
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter

    return OTLPLogExporter()


def _tracer_provider(
    export: str, resource_: Resource
) -> tuple[trace.TracerProvider, InMemorySpanExporter | None]:
    targets = [part.strip() for part in export.split(",") if part.strip()] or [export]
    if targets == ["none"]:
        return trace.NoOpTracerProvider(), None
    provider = TracerProvider(resource=resource_)
    memory: InMemorySpanExporter | None = None
    for target in targets:
        if target == "otlp":
            provider.add_span_processor(BatchSpanProcessor(_otlp_span_exporter()))
        elif target == "console":
            provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
        elif target == "memory":
            memory = InMemorySpanExporter()
            provider.add_span_processor(SimpleSpanProcessor(memory))
        elif target.startswith("file:") and len(target) > len("file:"):
            # Synchronous export: a span is on disk when it ends, so a test in another process that has
            # just seen a reply can read the spans behind it without polling.
            provider.add_span_processor(SimpleSpanProcessor(JsonLinesSpanExporter(Path(target[5:]))))
        else:
            provider.shutdown()
            raise ValueError(
                f"unknown trace export {target!r}: expected otlp, console, file:<path>, memory or none"
            )
    return provider, memory


def _check(kind: str, export: str) -> None:
    if export not in EXPORTS:
        raise ValueError(f"unknown {kind} export {export!r}: expected {', '.join(EXPORTS)}")


def _meter_provider(
    export: str, resource_: Resource
) -> tuple[otel_metrics.MeterProvider, InMemoryMetricReader | None]:
    if export == "none":
        return otel_metrics.NoOpMeterProvider(), None
    memory = InMemoryMetricReader() if export == "memory" else None
    reader: MetricReader = memory or PeriodicExportingMetricReader(
        # The interval and timeout come from OTEL_METRIC_EXPORT_INTERVAL and OTEL_METRIC_EXPORT_TIMEOUT.
        _otlp_metric_exporter() if export == "otlp" else ConsoleMetricExporter()
    )
    return MeterProvider(resource=resource_, metric_readers=[reader]), memory


def _logger_provider(
    export: str, resource_: Resource
) -> tuple[LoggerProvider | None, InMemoryLogRecordExporter | None]:
    if export == "none":
        return None, None
    provider = LoggerProvider(resource=resource_)
    memory = None
    if export == "memory":
        memory = InMemoryLogRecordExporter()
        provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    elif export == "console":
        provider.add_log_record_processor(SimpleLogRecordProcessor(ConsoleLogRecordExporter()))
    else:
        provider.add_log_record_processor(BatchLogRecordProcessor(_otlp_log_exporter()))
    return provider, memory


_SEVERITIES = (
    (logging.CRITICAL, SeverityNumber.FATAL),
    (logging.ERROR, SeverityNumber.ERROR),
    (logging.WARNING, SeverityNumber.WARN),
    (logging.INFO, SeverityNumber.INFO),
    (logging.DEBUG, SeverityNumber.DEBUG),
)


class _LogBridge(logging.Handler):
    """Hands every Python log record to the OpenTelemetry logger provider, in the trace it happened in."""

    def __init__(self, provider: LoggerProvider) -> None:
        super().__init__()
        self.provider = provider

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("opentelemetry"):
            return  # an exporter's own complaint would loop back through the exporter
        try:
            severity = next((number for level, number in _SEVERITIES if record.levelno >= level), None)
            self.provider.get_logger(record.name).emit(
                timestamp=int(record.created * 1e9),
                observed_timestamp=time.time_ns(),
                context=otel_context.get_current(),
                severity_number=severity or SeverityNumber.TRACE,
                severity_text=record.levelname,
                body=record.getMessage(),
                attributes={
                    "code.file.path": record.pathname,
                    "code.function.name": record.funcName,
                    "code.line.number": record.lineno,
                },
                exception=record.exc_info[1] if record.exc_info else None,
            )
        except Exception:
            self.handleError(record)


_bridge_lock = threading.Lock()
_bridge: _LogBridge | None = None


def _install_log_bridge(provider: LoggerProvider | None, *, only: LoggerProvider | None = None) -> None:
    """Route Python's logging to ``provider`` (None: nowhere); with ``only``, just if that one is in place."""
    global _bridge
    with _bridge_lock:
        if only is not None and (_bridge is None or _bridge.provider is not only):
            return
        root = logging.getLogger()
        if _bridge is not None:
            root.removeHandler(_bridge)
            _bridge = None
        if provider is not None:
            _bridge = _LogBridge(provider)
            root.addHandler(_bridge)


def configure(
    service_name: str, export: str, *, metrics: str = "none", logs: str = "none"
) -> TelemetryHandle:
    """Point this process's telemetry somewhere. Call once per process at start.

    ``export`` (spans): comma separated otlp | console | file:<path> | memory, or none. ``metrics`` and
    ``logs`` (the records of Python's ``logging``): otlp | console | memory | none. Calling again (tests)
    shuts the previous providers down and replaces them; tracers and instruments follow.
    """
    _install_switch()
    propagate.set_global_textmap(
        CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()])
    )
    _check("metrics", metrics)
    _check("logs", logs)
    resource_ = resource(service_name)
    provider, memory = _tracer_provider(export, resource_)
    meter_provider, metric_memory = _meter_provider(metrics, resource_)
    logger_provider, log_memory = _logger_provider(logs, resource_)
    previous = _switch.swap(provider)
    previous_meters = _meters.swap(meter_provider)
    _install_log_bridge(logger_provider)
    for old in (previous, previous_meters):
        if isinstance(old, TracerProvider | MeterProvider):
            old.shutdown()
    return TelemetryHandle(
        service_name=service_name,
        export=export,
        provider=provider,
        memory=memory,
        meter_provider=meter_provider,
        metric_memory=metric_memory,
        logger_provider=logger_provider,
        log_memory=log_memory,
    )


def configure_service(service: str, settings: MeshSettings) -> TelemetryHandle:
    """The one telemetry call of a service process, from its settings and the standard OTEL_* variables.

    Spans: TALLY_TRACE_EXPORT, else OTEL_TRACES_EXPORTER, else otlp. Metrics and logs: OTEL_METRICS_EXPORTER
    and OTEL_LOGS_EXPORTER, else over OTLP exactly when spans are (so a stack writing spans to files does not
    knock on a collector nobody started). OTEL_SDK_DISABLED turns all three off.
    """
    if settings.otel_sdk_disabled:
        return configure(service, "none")
    spans = settings.trace_export or settings.otel_traces_exporter or "otlp"
    follows = "otlp" if "otlp" in {part.strip() for part in spans.split(",")} else "none"
    return configure(
        service,
        spans,
        metrics=settings.otel_metrics_exporter or follows,
        logs=settings.otel_logs_exporter or follows,
    )


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time, level, service, logger, message, and the trace and span in progress."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self._service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            entry["trace_id"] = _hex_trace(span.trace_id)
            entry["span_id"] = _hex_span(span.span_id)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


_stdout_lock = threading.Lock()
_stdout_handler: logging.Handler | None = None


def configure_logging(service: str, log_format: str = "json", level: int = logging.INFO) -> None:
    """Logs on stdout, as JSON lines (``json``) or plain text (``text``); replaces what an earlier call set."""
    global _stdout_handler
    handler = logging.StreamHandler(sys.stdout)
    if log_format == "json":
        handler.setFormatter(JsonLogFormatter(service))
    else:
        handler.setFormatter(logging.Formatter(f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    with _stdout_lock:
        if _stdout_handler is not None:
            root.removeHandler(_stdout_handler)
        root.addHandler(handler)
        _stdout_handler = handler
    root.setLevel(level)


def traces_recorded() -> bool:
    """Whether ``configure`` installed a provider that records spans (not ``none``)."""
    return not isinstance(_switch.current()[1], trace.NoOpTracerProvider)


def context_of(headers: Mapping[str, str]) -> otel_context.Context:
    """The trace context a message's W3C headers carry: what work done for that message (on a thread of its
    own, where no span is current) passes on, e.g. to ``outbox.enqueue(..., context=...)``."""
    return propagate.extract(headers)


def tracer(name: str) -> trace.Tracer:
    """A tracer that follows whatever ``configure`` installed, even if fetched before it ran."""
    return _switch.get_tracer(name)
