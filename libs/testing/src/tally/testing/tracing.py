"""Spans recorded in memory, for tests that assert on traces."""

from __future__ import annotations

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tally.mesh import telemetry

__all__ = ["in_memory_exporter"]


def in_memory_exporter(service_name: str = "test") -> InMemorySpanExporter:
    """A fresh in-memory exporter behind the process's telemetry (the same switch services configure)."""
    handle = telemetry.configure(service_name, "memory")
    assert handle.memory is not None
    return handle.memory
