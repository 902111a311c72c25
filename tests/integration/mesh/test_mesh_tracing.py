"""Traces cross the wire: the server span continues the client span's trace."""

from __future__ import annotations

import asyncio

import grpc
import grpc.aio
import pytest
from google.protobuf.wrappers_pb2 import StringValue
from mesh_echo import SERVICE, Keys, OpenChannel, StartServer, unary
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from tally.mesh import attributes
from tally.mesh.telemetry import TelemetryHandle


def _only(spans: tuple[ReadableSpan, ...], kind: SpanKind, name: str) -> ReadableSpan:
    (span,) = [s for s in spans if s.kind == kind and s.name == name]
    return span


async def test_server_span_is_the_child_of_the_client_span(
    memory_spans: TelemetryHandle, start_server: StartServer, channel_to: OpenChannel, keys: Keys
) -> None:
    server = await start_server()
    await unary(channel_to(server, token=keys.reader), "Echo")(StringValue(value="hi"))

    spans = memory_spans.finished_spans()
    client = _only(spans, SpanKind.CLIENT, f"{SERVICE}/Echo")
    served = _only(spans, SpanKind.SERVER, f"{SERVICE}/Echo")
    assert client.context is not None and served.context is not None and served.parent is not None
    assert served.context.trace_id == client.context.trace_id
    assert served.parent.span_id == client.context.span_id
    assert served.attributes is not None
    assert dict(served.attributes) == {
        attributes.RPC_SYSTEM: "grpc",
        attributes.RPC_SERVICE: SERVICE,
        attributes.RPC_METHOD: "Echo",
        attributes.PRINCIPAL: "reader",
        attributes.RPC_GRPC_STATUS_CODE: 0,
    }
    assert served.status.status_code == StatusCode.UNSET


async def test_refused_and_failed_calls_are_traced_with_their_final_status(
    memory_spans: TelemetryHandle, start_server: StartServer, channel_to: OpenChannel, keys: Keys
) -> None:
    server = await start_server()
    with pytest.raises(grpc.aio.AioRpcError):
        await unary(channel_to(server, token=keys.revoked), "Echo")(StringValue())
    with pytest.raises(grpc.aio.AioRpcError):
        await unary(channel_to(server, token=keys.reader), "Fail")(StringValue(value="boom"))

    spans = memory_spans.finished_spans()
    refused = _only(spans, SpanKind.SERVER, f"{SERVICE}/Echo")
    assert refused.attributes is not None
    assert refused.attributes[attributes.RPC_GRPC_STATUS_CODE] == grpc.StatusCode.UNAUTHENTICATED.value[0]
    assert refused.status.status_code == StatusCode.UNSET  # the caller's fault, not the server's
    assert _only(spans, SpanKind.CLIENT, f"{SERVICE}/Echo").status.status_code == StatusCode.ERROR

    crashed = _only(spans, SpanKind.SERVER, f"{SERVICE}/Fail")
    assert crashed.attributes is not None
    assert crashed.attributes[attributes.RPC_GRPC_STATUS_CODE] == grpc.StatusCode.INTERNAL.value[0]
    assert crashed.status.status_code == StatusCode.ERROR
    assert [e.name for e in crashed.events] == ["exception"]  # the traceback lives in the trace


async def test_streaming_calls_get_a_client_span_with_their_status(
    memory_spans: TelemetryHandle, start_server: StartServer, channel_to: OpenChannel
) -> None:
    channel = channel_to(await start_server())
    call = channel.unary_stream(
        f"/{SERVICE}/Count",
        request_serializer=StringValue.SerializeToString,
        response_deserializer=StringValue.FromString,
    )(StringValue(value="2"))
    with pytest.raises(grpc.aio.AioRpcError):
        async for _ in call:
            pass
    for _ in range(100):  # the client span of a stream ends from the call's done callback
        if any(s.kind == SpanKind.CLIENT for s in memory_spans.finished_spans()):
            break
        await asyncio.sleep(0.01)

    spans = memory_spans.finished_spans()
    client = _only(spans, SpanKind.CLIENT, f"{SERVICE}/Count")
    served = _only(spans, SpanKind.SERVER, f"{SERVICE}/Count")
    assert client.attributes is not None
    assert client.attributes[attributes.RPC_GRPC_STATUS_CODE] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert served.parent is not None and client.context is not None
    assert served.parent.span_id == client.context.span_id
