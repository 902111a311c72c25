"""Retries come from the service config: only methods declared idempotent are retried."""

from __future__ import annotations

import grpc
import grpc.aio
import pytest
from google.protobuf.wrappers_pb2 import StringValue
from mesh_echo import EchoServicer, OpenChannel, StartServer, unary


async def test_idempotent_method_is_retried_through_transient_unavailability(
    start_server: StartServer, channel_to: OpenChannel
) -> None:
    servicer = EchoServicer()
    reply = await unary(channel_to(await start_server(servicer)), "FlakyIdempotent")(StringValue())

    assert reply.value == "attempt 3"
    assert servicer.attempts["FlakyIdempotent"] == 3


async def test_method_not_declared_idempotent_is_not_retried(
    start_server: StartServer, channel_to: OpenChannel
) -> None:
    servicer = EchoServicer()
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await unary(channel_to(await start_server(servicer)), "FlakyOther")(StringValue())

    assert failure.value.code() == grpc.StatusCode.UNAVAILABLE
    assert failure.value.details() == "broker unreachable"
    assert servicer.attempts["FlakyOther"] == 1
