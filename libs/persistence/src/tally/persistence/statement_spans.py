"""Database spans: a CLIENT span per SQL statement (``db.system``, the statement), inside traced operations only."""

from __future__ import annotations

from opentelemetry import metrics
from opentelemetry.instrumentation.sqlalchemy import EngineTracer
from sqlalchemy.engine import Engine

from tally.mesh import telemetry

__all__ = ["trace_statements"]

_TRACER = telemetry.nested_tracer_provider().get_tracer("tally.persistence.sql")
# The instrumentation also counts pool connections; that gauge is not one of ours, so it goes nowhere.
_CONNECTIONS = metrics.NoOpMeterProvider().get_meter("tally.persistence.sql").create_up_down_counter("unused")


def trace_statements(engine: Engine) -> Engine:
    """Give ``engine``'s statements spans (opentelemetry-instrumentation-sqlalchemy), children of the caller's.

    A statement run outside any span (the relay's backlog poll, a checkpoint) records nothing.
    """
    EngineTracer(_TRACER, engine, _CONNECTIONS, enable_commenter=False)
    return engine
