"""Database spans: a CLIENT span per SQL statement (``db.system``, the statement), inside traced operations only."""

from __future__ import annotations

from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.instrumentation.sqlalchemy import EngineTracer
from sqlalchemy.engine import Engine

from tally.mesh import telemetry

__all__ = ["trace_statements"]

_TRACER = telemetry.tracer("tally.persistence.sql")
# The instrumentation also counts pool connections; that gauge is not one of ours, so it goes nowhere.
_CONNECTIONS = metrics.NoOpMeterProvider().get_meter("tally.persistence.sql").create_up_down_counter("unused")


class _StatementsInSpans(EngineTracer):
    """opentelemetry-instrumentation-sqlalchemy's tracer, skipped when no span is in progress.

    Statements also run outside any request (the outbox relay polls its backlog every second, the WAL
    checkpointer runs on a timer): those are not worth a trace each, and skipping them before the
    instrumentation reads the connection's attributes keeps an untraced statement as cheap as a plain one.
    """

    def _before_cur_exec(self, conn: Any, cursor: Any, statement: Any, params: Any, *args: Any) -> Any:
        if not trace.get_current_span().get_span_context().is_valid:
            return statement, params
        return super()._before_cur_exec(conn, cursor, statement, params, *args)


def trace_statements(engine: Engine) -> Engine:
    """Give ``engine``'s statements spans, children of the span in progress where there is one.

    Only when this process records spans (telemetry is configured before engines are made): the listeners
    cost every statement something even when they record nothing, and a process exporting no traces
    (TALLY_TRACE_EXPORT=none, as the benchmarks run) should not pay it.
    """
    if telemetry.traces_recorded():
        _StatementsInSpans(_TRACER, engine, _CONNECTIONS, enable_commenter=False)
    return engine
