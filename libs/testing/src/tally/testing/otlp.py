"""A real OTLP/gRPC receiver for tests: collects the spans, metrics and log records that processes export to it.

It serves the three OpenTelemetry collector services (opentelemetry-proto's stubs) on a free port, as an
OpenTelemetry Collector would, and keeps every request so a test can ask what arrived from whom.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from tally.testing.ports import free_port

__all__ = ["OtlpReceiver", "ReceivedLog", "ReceivedMetric", "ReceivedSpan", "attribute_map"]

T = TypeVar("T")


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return attribute_map(value.kvlist_value.values)
    return getattr(value, kind) if kind else None


def attribute_map(pairs: Iterator[KeyValue] | Any) -> dict[str, Any]:
    """OTLP key-value pairs as a plain dict."""
    return {pair.key: _value(pair.value) for pair in pairs}


@dataclass(frozen=True)
class ReceivedSpan:
    resource: dict[str, Any]
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: int
    attributes: dict[str, Any]
    links: tuple[tuple[str, str], ...]
    """(trace id, span id) of each linked span."""

    @property
    def service(self) -> str:
        return str(self.resource.get("service.name"))


@dataclass(frozen=True)
class ReceivedMetric:
    resource: dict[str, Any]
    name: str
    unit: str
    points: tuple[Any, ...]
    """The data points as sent (NumberDataPoint or HistogramDataPoint)."""

    @property
    def service(self) -> str:
        return str(self.resource.get("service.name"))

    def point_attributes(self) -> list[dict[str, Any]]:
        return [attribute_map(point.attributes) for point in self.points]


@dataclass(frozen=True)
class ReceivedLog:
    resource: dict[str, Any]
    body: str
    severity: str
    trace_id: str
    span_id: str

    @property
    def service(self) -> str:
        return str(self.resource.get("service.name"))


class _Collector(
    trace_service_pb2_grpc.TraceServiceServicer,
    metrics_service_pb2_grpc.MetricsServiceServicer,
    logs_service_pb2_grpc.LogsServiceServicer,
):
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.spans: list[ReceivedSpan] = []
        self.metrics: list[ReceivedMetric] = []
        self.logs: list[ReceivedLog] = []

    def Export(self, request: Any, context: grpc.ServicerContext) -> Any:
        if isinstance(request, trace_service_pb2.ExportTraceServiceRequest):
            self._spans(request)
            return trace_service_pb2.ExportTraceServiceResponse()
        if isinstance(request, metrics_service_pb2.ExportMetricsServiceRequest):
            self._metrics(request)
            return metrics_service_pb2.ExportMetricsServiceResponse()
        self._logs(request)
        return logs_service_pb2.ExportLogsServiceResponse()

    def _spans(self, request: trace_service_pb2.ExportTraceServiceRequest) -> None:
        received = [
            ReceivedSpan(
                resource=attribute_map(resource_spans.resource.attributes),
                trace_id=span.trace_id.hex(),
                span_id=span.span_id.hex(),
                parent_span_id=span.parent_span_id.hex(),
                name=span.name,
                kind=span.kind,
                attributes=attribute_map(span.attributes),
                links=tuple((link.trace_id.hex(), link.span_id.hex()) for link in span.links),
            )
            for resource_spans in request.resource_spans
            for scope in resource_spans.scope_spans
            for span in scope.spans
        ]
        with self.lock:
            self.spans.extend(received)

    def _metrics(self, request: metrics_service_pb2.ExportMetricsServiceRequest) -> None:
        received = []
        for resource_metrics in request.resource_metrics:
            resource = attribute_map(resource_metrics.resource.attributes)
            for scope in resource_metrics.scope_metrics:
                for metric in scope.metrics:
                    data = getattr(metric, metric.WhichOneof("data") or "gauge")
                    received.append(
                        ReceivedMetric(resource, metric.name, metric.unit, tuple(data.data_points))
                    )
        with self.lock:
            self.metrics.extend(received)

    def _logs(self, request: logs_service_pb2.ExportLogsServiceRequest) -> None:
        received = [
            ReceivedLog(
                resource=attribute_map(resource_logs.resource.attributes),
                body=str(_value(record.body)),
                severity=record.severity_text,
                trace_id=record.trace_id.hex(),
                span_id=record.span_id.hex(),
            )
            for resource_logs in request.resource_logs
            for scope in resource_logs.scope_logs
            for record in scope.log_records
        ]
        with self.lock:
            self.logs.extend(received)


class OtlpReceiver:
    """An OTLP/gRPC endpoint on 127.0.0.1 and a free port; ``environment()`` points exporters at it."""

    def __init__(self) -> None:
        self._collector = _Collector()
        self.port = free_port()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(self._collector, self._server)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(self._collector, self._server)
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(self._collector, self._server)
        self._server.add_insecure_port(f"127.0.0.1:{self.port}")

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self, *, interval_ms: int = 1000) -> dict[str, str]:
        """The standard variables that send every signal here, exported at least every ``interval_ms``."""
        return {
            "OTEL_EXPORTER_OTLP_ENDPOINT": self.endpoint,
            "OTEL_EXPORTER_OTLP_INSECURE": "true",
            "OTEL_METRIC_EXPORT_INTERVAL": str(interval_ms),
            "OTEL_BSP_SCHEDULE_DELAY": str(interval_ms),
            "OTEL_BLRP_SCHEDULE_DELAY": str(interval_ms),
        }

    def start(self) -> OtlpReceiver:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop(grace=None)

    def spans(self) -> list[ReceivedSpan]:
        with self._collector.lock:
            return list(self._collector.spans)

    def metrics(self) -> list[ReceivedMetric]:
        with self._collector.lock:
            return list(self._collector.metrics)

    def logs(self) -> list[ReceivedLog]:
        with self._collector.lock:
            return list(self._collector.logs)

    def wait_for(self, found: Callable[[], T], timeout_s: float = 30.0, what: str = "telemetry") -> T:
        """Poll ``found`` until it returns something truthy (exports arrive in batches, on timers)."""
        deadline = time.monotonic() + timeout_s
        while True:
            result = found()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} arrived at the OTLP receiver within {timeout_s:g}s")
            time.sleep(0.1)
