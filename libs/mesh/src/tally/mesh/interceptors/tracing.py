"""Tracing interceptors: a SERVER span per incoming call, a CLIENT span per outgoing one, W3C in between, and
the RPC duration metrics beside them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from contextlib import asynccontextmanager
from typing import Any

import grpc
import grpc.aio
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace

from tally.mesh import attributes, metrics, telemetry
from tally.mesh.interceptors.shapes import AroundServerInterceptor, method_name, split_method, with_metadata

_tracer = telemetry.tracer("tally.mesh.grpc")

# Semantic conventions: on the server, codes that blame the caller (NOT_FOUND, INVALID_ARGUMENT...) are
# not errors of this span; on the client every non-OK code is.
_SERVER_ERRORS = frozenset(
    {
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
    }
)


def _rpc_attributes(method: str) -> dict[str, str]:
    service, name = split_method(method)
    return {attributes.RPC_SYSTEM: "grpc", attributes.RPC_SERVICE: service, attributes.RPC_METHOD: name}


def _span_name(method: str) -> str:
    return method.lstrip("/")


def _carrier(metadata: Sequence[tuple[str, str | bytes]] | None) -> dict[str, str]:
    # Binary (-bin) metadata cannot hold W3C headers; skip it rather than decode it.
    return {key: value for key, value in metadata or () if isinstance(value, str)}


Timing = tuple[str, float]
"""(method, time.monotonic() at its start) of a call, for its duration metric."""


def _finish(
    span: trace.Span, code: grpc.StatusCode, message: str | None, *, server: bool, timing: Timing
) -> None:
    span.set_attribute(attributes.RPC_GRPC_STATUS_CODE, code.value[0])
    if code is not grpc.StatusCode.OK and (not server or code in _SERVER_ERRORS):
        span.set_status(trace.Status(trace.StatusCode.ERROR, f"{code.name}: {message or ''}".rstrip(": ")))
    method, started = timing
    histogram = metrics.RPC_SERVER_DURATION if server else metrics.RPC_CLIENT_DURATION
    histogram.record(
        time.monotonic() - started,
        {**_rpc_attributes(method), attributes.RPC_GRPC_STATUS_CODE: code.value[0]},
    )


class ServerTracingInterceptor(AroundServerInterceptor):
    """Continues the caller's trace (or starts one) with a SERVER span named ``package.Service/Method``.

    Calls to ``untraced`` services (health probes, reflection) get neither a span nor a duration: a probe
    every few seconds per pod would bury the traces that matter.
    """

    def __init__(self, untraced: Collection[str] = ()) -> None:
        self._untraced = frozenset(untraced)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        if split_method(method_name(handler_call_details))[0] in self._untraced:
            return await continuation(handler_call_details)
        return await super().intercept_service(continuation, handler_call_details)

    @asynccontextmanager
    async def around(
        self, details: grpc.HandlerCallDetails, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[None]:
        method = method_name(details)
        timing = (method, time.monotonic())
        parent = propagate.extract(_carrier(context.invocation_metadata()))
        with _tracer.start_as_current_span(
            _span_name(method),
            context=parent,
            kind=trace.SpanKind.SERVER,
            attributes=_rpc_attributes(method),
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                yield
            except grpc.aio.AbortError:
                # The error-mapping interceptor (or the servicer) chose the status; it is on the context.
                _finish(
                    span,
                    context.code() or grpc.StatusCode.UNKNOWN,
                    context.details(),
                    server=True,
                    timing=timing,
                )
                raise
            except asyncio.CancelledError:
                _finish(span, grpc.StatusCode.CANCELLED, "cancelled", server=True, timing=timing)
                raise
            except Exception as exc:
                span.record_exception(exc)
                _finish(span, grpc.StatusCode.UNKNOWN, type(exc).__name__, server=True, timing=timing)
                raise
            _finish(span, context.code() or grpc.StatusCode.OK, context.details(), server=True, timing=timing)


class ClientTracingInterceptor:
    """A CLIENT span per outgoing call, whose context travels in ``traceparent`` metadata.

    A ClientInterception: install it with ``shapes.every_shape``.
    """

    def __init__(self) -> None:
        # Span-closing tasks of streaming calls, held so the event loop does not drop them mid-flight.
        self._closing: set[asyncio.Task[None]] = set()

    def _start(
        self, details: grpc.aio.ClientCallDetails
    ) -> tuple[trace.Span, grpc.aio.ClientCallDetails, Timing]:
        method = method_name(details)
        timing = (method, time.monotonic())
        span = _tracer.start_span(
            _span_name(method), kind=trace.SpanKind.CLIENT, attributes=_rpc_attributes(method)
        )
        carrier: dict[str, str] = {}
        propagate.inject(carrier, context=trace.set_span_in_context(span, otel_context.get_current()))
        return span, with_metadata(details, carrier.items()), timing

    async def _unary_response(self, continuation: Any, details: Any, request: Any) -> Any:
        span, details, timing = self._start(details)
        with trace.use_span(span, end_on_exit=True, record_exception=False, set_status_on_exception=False):
            try:
                call = await continuation(details, request)
                await call
            except grpc.aio.AioRpcError as exc:
                _finish(span, exc.code(), exc.details(), server=False, timing=timing)
                raise
            _finish(span, grpc.StatusCode.OK, None, server=False, timing=timing)
            return call

    async def _streaming_response(self, continuation: Any, details: Any, request: Any) -> Any:
        span, details, timing = self._start(details)
        try:
            call = await continuation(details, request)
        except grpc.aio.AioRpcError as exc:
            _finish(span, exc.code(), exc.details(), server=False, timing=timing)
            span.end()
            raise
        except Exception:
            span.end()
            raise

        async def close(done: grpc.aio.Call) -> None:
            _finish(span, await done.code(), await done.details(), server=False, timing=timing)
            span.end()

        def on_done(done: grpc.aio.Call) -> None:
            task = asyncio.get_running_loop().create_task(close(done))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

        call.add_done_callback(on_done)
        return call

    async def intercept_unary_unary(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return await self._unary_response(continuation, client_call_details, request)

    async def intercept_stream_unary(
        self, continuation: Any, client_call_details: Any, request_iterator: Any
    ) -> Any:
        return await self._unary_response(continuation, client_call_details, request_iterator)

    async def intercept_unary_stream(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return await self._streaming_response(continuation, client_call_details, request)

    async def intercept_stream_stream(
        self, continuation: Any, client_call_details: Any, request_iterator: Any
    ) -> Any:
        return await self._streaming_response(continuation, client_call_details, request_iterator)
