"""The echo service the mesh tests run behind real MeshServers, and the keys that call it."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
import grpc.aio
from google.protobuf.wrappers_pb2 import StringValue

from tally.domain.errors import FieldViolation, InvalidArgument, NotFound, Unavailable
from tally.mesh.auth import Keyring
from tally.mesh.interceptors.auth import current_principal
from tally.mesh.server import MeshServer

SERVICE = "tally.test.v1.EchoService"

SCOPES = {
    f"/{SERVICE}/Echo": "echo:read",
    f"/{SERVICE}/Fail": "echo:read",
    f"/{SERVICE}/Count": "echo:read",
    f"/{SERVICE}/Remaining": "echo:read",
    f"/{SERVICE}/Relay": "echo:read",
    f"/{SERVICE}/FlakyIdempotent": "echo:write",
    f"/{SERVICE}/FlakyOther": "echo:write",
    # Unmapped is served but deliberately missing here: auth must refuse it.
}

IDEMPOTENT = [(SERVICE, "FlakyIdempotent")]


def method(name: str) -> str:
    return f"/{SERVICE}/{name}"


@dataclass
class EchoServicer:
    """Test service; ``downstream`` is a channel to a second server, used by Relay."""

    attempts: Counter[str] = field(default_factory=Counter)
    downstream: grpc.aio.Channel | None = None
    relay_errors: list[grpc.StatusCode] = field(default_factory=list)
    late: asyncio.Task[None] | None = None

    async def echo(self, request: StringValue, context: grpc.aio.ServicerContext[Any, Any]) -> StringValue:
        return StringValue(value=f"{current_principal().name}:{request.value}")

    async def fail(self, request: StringValue, context: grpc.aio.ServicerContext[Any, Any]) -> StringValue:
        if request.value == "invalid":
            raise InvalidArgument(
                [
                    FieldViolation("events[0].customer_id", "is required"),
                    FieldViolation("events[2].quantity", "must be a decimal number"),
                ]
            )
        if request.value == "notfound":
            raise NotFound("meter", "api_calls", field="meter_id")
        raise RuntimeError("connection string postgresql://billing:hunter2@db leaked")

    async def count(
        self, request: StringValue, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[StringValue]:
        for number in range(int(request.value)):
            yield StringValue(value=str(number))
        raise InvalidArgument.field("count", "ran past the end")

    async def remaining(
        self, request: StringValue, context: grpc.aio.ServicerContext[Any, Any]
    ) -> StringValue:
        self.attempts["Remaining"] += 1
        return StringValue(value=json.dumps(context.time_remaining()))

    async def relay(self, request: StringValue, context: grpc.aio.ServicerContext[Any, Any]) -> StringValue:
        assert self.downstream is not None
        own = context.time_remaining()
        call = self.downstream.unary_unary(
            method("Remaining"),
            request_serializer=StringValue.SerializeToString,
            response_deserializer=StringValue.FromString,
        )
        if request.value == "late":
            # Work that outlives the caller's deadline (gRPC cancels the handler itself, not a task it
            # started, which inherits the call's context) and only then calls on.
            async def late() -> None:
                await asyncio.sleep(own + 0.05)
                try:
                    await call(StringValue())
                except grpc.aio.AioRpcError as exc:
                    self.relay_errors.append(exc.code())

            self.late = asyncio.create_task(late())
            await asyncio.shield(self.late)
        reply = await call(StringValue())
        return StringValue(value=json.dumps({"own": own, "downstream": json.loads(reply.value)}))

    async def flaky_idempotent(
        self, request: StringValue, context: grpc.aio.ServicerContext[Any, Any]
    ) -> StringValue:
        return self._flaky("FlakyIdempotent")

    async def flaky_other(
        self, request: StringValue, context: grpc.aio.ServicerContext[Any, Any]
    ) -> StringValue:
        return self._flaky("FlakyOther")

    def _flaky(self, name: str) -> StringValue:
        self.attempts[name] += 1
        if self.attempts[name] <= 2:
            raise Unavailable("broker unreachable")
        return StringValue(value=f"attempt {self.attempts[name]}")

    async def unmapped(
        self, request: StringValue, context: grpc.aio.ServicerContext[Any, Any]
    ) -> StringValue:
        return StringValue(value="should never run")

    def handler(self) -> grpc.GenericRpcHandler:
        def unary(fn: Any) -> grpc.RpcMethodHandler:
            return grpc.unary_unary_rpc_method_handler(
                fn, StringValue.FromString, StringValue.SerializeToString
            )

        return grpc.method_handlers_generic_handler(
            SERVICE,
            {
                "Echo": unary(self.echo),
                "Fail": unary(self.fail),
                "Count": grpc.unary_stream_rpc_method_handler(
                    self.count, StringValue.FromString, StringValue.SerializeToString
                ),
                "Remaining": unary(self.remaining),
                "Relay": unary(self.relay),
                "FlakyIdempotent": unary(self.flaky_idempotent),
                "FlakyOther": unary(self.flaky_other),
                "Unmapped": unary(self.unmapped),
            },
        )


def add_generic(servicer: EchoServicer, server: grpc.aio.Server) -> None:
    server.add_generic_rpc_handlers((servicer.handler(),))


@dataclass(frozen=True)
class Keys:
    keyring: Keyring
    admin: str
    reader: str
    revoked: str
    unknown: str


def unary(channel: grpc.aio.Channel, name: str) -> grpc.aio.UnaryUnaryMultiCallable:
    return channel.unary_unary(
        method(name),
        request_serializer=StringValue.SerializeToString,
        response_deserializer=StringValue.FromString,
    )


MakeServer = Callable[..., MeshServer]
StartServer = Callable[..., Awaitable[MeshServer]]


OpenChannel = Callable[..., grpc.aio.Channel]
