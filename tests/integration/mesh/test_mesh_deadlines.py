"""Deadlines: every outbound call has one, and a dependency never gets more time than our caller."""

from __future__ import annotations

import json

import grpc
import grpc.aio
import pytest
from google.protobuf.wrappers_pb2 import StringValue
from mesh_echo import EchoServicer, OpenChannel, StartServer, unary

from tally.mesh.channel import open_channel
from tally.mesh.settings import MeshSettings


async def test_call_without_timeout_gets_the_default_deadline(
    start_server: StartServer, channel_to: OpenChannel
) -> None:
    reply = await unary(channel_to(await start_server()), "Remaining")(StringValue())

    remaining = json.loads(reply.value)
    # settings.default_deadline_s is 5; grpc-timeout travels rounded up to the next wire unit.
    assert remaining is not None and 4.0 < remaining <= 5.05


async def test_dependency_sees_a_deadline_no_later_than_its_callers(
    start_server: StartServer, channel_to: OpenChannel, settings: MeshSettings
) -> None:
    downstream = await start_server()
    relay = EchoServicer(downstream=open_channel(f"127.0.0.1:{downstream.port}", settings))
    upstream = await start_server(relay)

    reply = await unary(channel_to(upstream), "Relay")(StringValue(), timeout=1.0)
    await relay.downstream.close()

    seen = json.loads(reply.value)
    # Not the 5 s default but the caller's 1 s, give or take grpc-timeout's rounding up on the wire.
    assert 0 < seen["own"] <= 1.05
    assert 0 < seen["downstream"] <= seen["own"] + 0.02


async def test_no_call_is_made_once_the_callers_deadline_has_passed(
    start_server: StartServer, channel_to: OpenChannel, settings: MeshSettings
) -> None:
    downstream_servicer = EchoServicer()
    downstream = await start_server(downstream_servicer)
    relay = EchoServicer(downstream=open_channel(f"127.0.0.1:{downstream.port}", settings))
    upstream = await start_server(relay)

    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await unary(channel_to(upstream), "Relay")(StringValue(value="late"), timeout=0.3)
    assert relay.late is not None
    await relay.late
    await relay.downstream.close()

    assert failure.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert relay.relay_errors == [grpc.StatusCode.DEADLINE_EXCEEDED]
    assert downstream_servicer.attempts["Remaining"] == 0
