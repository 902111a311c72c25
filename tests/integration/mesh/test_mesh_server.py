"""MeshServer: health, reflection, binding and graceful shutdown, against a real grpc.aio server."""

from __future__ import annotations

import asyncio
import os
import signal
import socket

import grpc
import grpc.aio
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from mesh_echo import SERVICE, MakeServer, StartServer

from tally.mesh.server import BindError

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def test_health_reports_serving_for_the_server_and_each_service_without_a_key(
    start_server: StartServer,
) -> None:
    server = await start_server()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        overall = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
        echo = await stub.Check(health_pb2.HealthCheckRequest(service=SERVICE), timeout=5)
        with pytest.raises(grpc.aio.AioRpcError) as unknown:
            await stub.Check(health_pb2.HealthCheckRequest(service="tally.nope.v1.Nope"), timeout=5)

    assert (overall.status, echo.status) == (SERVING, SERVING)
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND


async def test_reflection_lists_the_services_health_and_reflection(start_server: StartServer) -> None:
    server = await start_server()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        call = stub.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
        )
        response = await call.read()
        call.cancel()

    assert sorted(s.name for s in response.list_services_response.service) == [
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
        SERVICE,
    ]


async def test_shutdown_goes_not_serving_then_stops_then_runs_hooks_in_order(
    start_server: StartServer,
) -> None:
    server = await start_server()
    events: list[str] = []
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    stub = health_pb2_grpc.HealthStub(channel)
    watch = stub.Watch(health_pb2.HealthCheckRequest(service=SERVICE))
    assert (await watch.read()).status == SERVING

    async def drain_nats() -> None:
        # The server must already refuse calls when hooks run: nothing new can need NATS.
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
        events.append(f"drain nats after server stopped ({refused.value.code().name})")

    async def stop_relay() -> None:
        events.append("stop relay")

    async def broken_hook() -> None:
        raise ConnectionError("already closed")

    shutting_down = asyncio.create_task(server.shutdown([drain_nats, broken_hook, stop_relay]))
    assert (await watch.read()).status == NOT_SERVING
    await shutting_down
    await channel.close()

    assert events == ["drain nats after server stopped (UNAVAILABLE)", "stop relay"]


async def test_sigterm_shuts_the_server_down_gracefully(make_server: MakeServer) -> None:
    server = make_server()
    hooks: list[str] = []

    async def hook() -> None:
        hooks.append("drained")

    await server.start()  # run_until_terminated serves an already started server as is
    running = asyncio.create_task(server.run_until_terminated([hook]))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert reply.status == SERVING
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(running, timeout=10)
        with pytest.raises(grpc.aio.AioRpcError):
            await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)

    assert hooks == ["drained"]


async def test_port_already_in_use_is_a_clear_error_naming_the_address(start_server: StartServer) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(
            BindError, match=rf"cannot listen on 127\.0\.0\.1:{port}: the port is already in use"
        ):
            await start_server(port=port)

    first = await start_server()
    with pytest.raises(BindError, match=str(first.port)):
        await start_server(port=first.port)
