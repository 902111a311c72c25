"""Probes and telemetry of the MeshServer: readiness follows the dependencies while liveness stays SERVING,
health and reflection calls are neither traced nor timed, every other call gets a duration metric."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import grpc
import grpc.aio
from google.protobuf.wrappers_pb2 import StringValue
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from mesh_echo import SCOPES, SERVICE, EchoServicer, Keys, OpenChannel, add_generic, unary

from tally.mesh import telemetry
from tally.mesh.readiness import LIVENESS_SERVICE
from tally.mesh.server import MeshServer
from tally.mesh.settings import MeshSettings

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def statuses(port: int) -> dict[str, int]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        return {
            name: (await stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)).status
            for name in ("", SERVICE, LIVENESS_SERVICE)
        }


async def test_readiness_follows_the_checks_and_liveness_does_not(settings: MeshSettings, keys: Keys) -> None:
    broker = {"up": False}

    async def nats_check() -> str | None:
        return None if broker["up"] else "NATS disconnected (reconnecting)"

    server = MeshServer(
        "echo",
        replace(settings, grpc_port=0),
        registrations=[(add_generic, EchoServicer())],
        service_names=[SERVICE],
        scopes=SCOPES,
        verifier=keys.keyring,
        readiness=[nats_check],
        readiness_interval_s=0.05,
    )
    await server.start()
    try:
        assert await statuses(server.port) == {
            "": NOT_SERVING,
            SERVICE: NOT_SERVING,
            LIVENESS_SERVICE: SERVING,
        }
        broker["up"] = True
        for _ in range(100):
            if (await statuses(server.port))[""] == SERVING:
                break
            await asyncio.sleep(0.05)
        assert await statuses(server.port) == {"": SERVING, SERVICE: SERVING, LIVENESS_SERVICE: SERVING}
    finally:
        await server.shutdown()


async def test_probes_and_reflection_are_not_traced_but_calls_are_traced_and_timed(
    start_server, channel_to: OpenChannel, keys: Keys
) -> None:
    handle = telemetry.configure("mesh-test", "memory", metrics="memory")
    try:
        server = await start_server()
        await statuses(server.port)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            call = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
                iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
            )
            await call.read()
            call.cancel()
        await unary(channel_to(server, token=keys.reader), "Echo")(StringValue(value="hi"))

        assert [(s.name, s.kind.name) for s in handle.finished_spans()] == [
            (f"{SERVICE}/Echo", "SERVER"),
            (f"{SERVICE}/Echo", "CLIENT"),
        ]
        data = handle.metrics_data()
        assert data is not None
        durations = {
            metric.name: [dict(point.attributes or {}) for point in metric.data.data_points]
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
        }
        expected = {
            "rpc.system": "grpc",
            "rpc.service": SERVICE,
            "rpc.method": "Echo",
            "rpc.grpc.status_code": 0,
        }
        assert durations["rpc.server.call.duration"] == [expected]
        assert durations["rpc.client.call.duration"] == [expected]
    finally:
        handle.shutdown()
