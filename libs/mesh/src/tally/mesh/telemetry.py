"""Telemetry: the one tracer provider of a process, its exporter, and the W3C propagators."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.resources import Resource
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

NAMESPACE = "tally"

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


@dataclass(frozen=True)
class TelemetryHandle:
    """What ``configure`` set up: shut it down at exit so buffered spans are exported."""

    service_name: str
    export: str
    provider: trace.TracerProvider
    memory: InMemorySpanExporter | None = None

    def finished_spans(self) -> tuple[ReadableSpan, ...]:
        """Spans ended so far; only with ``export="memory"``."""
        if self.memory is None:
            raise RuntimeError(f"telemetry exports to {self.export!r}, not to memory")
        return self.memory.get_finished_spans()

    def force_flush(self) -> None:
        if isinstance(self.provider, TracerProvider):
            self.provider.force_flush()

    def shutdown(self) -> None:
        if isinstance(self.provider, TracerProvider):
            self.provider.force_flush()
            self.provider.shutdown()


def _otlp_exporter() -> SpanExporter:
    # Imported here: the gRPC OTLP exporter is heavy and only needed when it is selected.
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    # No arguments: endpoint, headers, TLS and timeout come from the standard OTEL_EXPORTER_OTLP_* variables.
    return OTLPSpanExporter()


def configure(service_name: str, export: str) -> TelemetryHandle:
    """Point this process's tracing at ``export``: otlp | console | file:<path> | memory | none.

    Call once per process at start. Calling again (tests) shuts the previous provider down and replaces it.
    """
    _install_switch()
    propagate.set_global_textmap(
        CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()])
    )
    provider: trace.TracerProvider
    memory: InMemorySpanExporter | None = None
    if export == "none":
        provider = trace.NoOpTracerProvider()
    else:
        resource = Resource.create({"service.name": service_name, "service.namespace": NAMESPACE})
        sdk_provider = TracerProvider(resource=resource)
        if export == "otlp":
            sdk_provider.add_span_processor(BatchSpanProcessor(_otlp_exporter()))
        elif export == "console":
            sdk_provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
        elif export == "memory":
            memory = InMemorySpanExporter()
            sdk_provider.add_span_processor(SimpleSpanProcessor(memory))
        elif export.startswith("file:") and len(export) > len("file:"):
            # Synchronous export: a span is on disk when it ends, so a test in another process that has
            # just seen a reply can read the spans behind it without polling.
            sdk_provider.add_span_processor(SimpleSpanProcessor(JsonLinesSpanExporter(Path(export[5:]))))
        else:
            raise ValueError(
                f"unknown trace export {export!r}: expected otlp, console, file:<path>, memory or none"
            )
        provider = sdk_provider
    previous = _switch.swap(provider)
    if isinstance(previous, TracerProvider):
        previous.shutdown()
    return TelemetryHandle(service_name=service_name, export=export, provider=provider, memory=memory)


def tracer(name: str) -> trace.Tracer:
    """A tracer that follows whatever ``configure`` installed, even if fetched before it ran."""
    return _switch.get_tracer(name)
