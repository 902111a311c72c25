"""Domain errors raised by servicers reach callers as status codes with readable details."""

from __future__ import annotations

import grpc
import grpc.aio
import pytest
from google.protobuf.wrappers_pb2 import StringValue
from mesh_echo import SERVICE, OpenChannel, StartServer, method

from tally.domain.errors import FieldViolation
from tally.mesh.errors import field_violations, resource_info


async def _fail(channel: grpc.aio.Channel, value: str) -> grpc.aio.AioRpcError:
    call = channel.unary_unary(
        method("Fail"),
        request_serializer=StringValue.SerializeToString,
        response_deserializer=StringValue.FromString,
    )
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call(StringValue(value=value))
    return failure.value


async def test_invalid_argument_names_every_bad_field(
    start_server: StartServer, channel_to: OpenChannel
) -> None:
    error = await _fail(channel_to(await start_server()), "invalid")

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(error) == [
        FieldViolation("events[0].customer_id", "is required"),
        FieldViolation("events[2].quantity", "must be a decimal number"),
    ]


async def test_not_found_names_the_resource_and_the_field(
    start_server: StartServer, channel_to: OpenChannel
) -> None:
    error = await _fail(channel_to(await start_server()), "notfound")

    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error.details() == "meter 'api_calls' not found (field meter_id)"
    assert [v.field for v in field_violations(error)] == ["meter_id"]
    info = resource_info(error)
    assert info is not None and (info.resource_type, info.resource_name) == ("meter", "api_calls")


async def test_unexpected_exception_is_internal_and_leaks_nothing(
    start_server: StartServer, channel_to: OpenChannel, caplog: pytest.LogCaptureFixture
) -> None:
    error = await _fail(channel_to(await start_server()), "boom")

    assert error.code() == grpc.StatusCode.INTERNAL
    assert (error.details() or "").startswith("internal error")
    assert (
        "hunter2" not in repr(error) and "Traceback" not in repr(error) and "RuntimeError" not in repr(error)
    )
    assert field_violations(error) == []
    # ...but the operator gets the traceback.
    assert any("hunter2" in (r.exc_text or "") or r.exc_info for r in caplog.records)


async def test_error_after_streamed_messages_is_mapped_too(
    start_server: StartServer, channel_to: OpenChannel
) -> None:
    channel = channel_to(await start_server())
    call = channel.unary_stream(
        f"/{SERVICE}/Count",
        request_serializer=StringValue.SerializeToString,
        response_deserializer=StringValue.FromString,
    )(StringValue(value="3"))
    received = []
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        async for item in call:
            received.append(item.value)

    assert received == ["0", "1", "2"]
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(failure.value) == [FieldViolation("count", "ran past the end")]
