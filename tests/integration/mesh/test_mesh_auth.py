"""Auth over the wire: API keys authenticate, scopes authorize, unmapped methods are refused."""

from __future__ import annotations

import grpc
import grpc.aio
import pytest
from google.protobuf.wrappers_pb2 import StringValue
from mesh_echo import Keys, OpenChannel, StartServer, method, unary


async def _code(call: grpc.aio.UnaryUnaryMultiCallable, **kwargs: object) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await call(StringValue(value="hi"), **kwargs)
    return failure.value.code(), failure.value.details() or ""


async def test_key_with_the_scope_is_served_and_the_handler_sees_the_principal(
    start_server: StartServer, channel_to: OpenChannel, keys: Keys
) -> None:
    server = await start_server()
    reply = await unary(channel_to(server, token=keys.reader), "Echo")(StringValue(value="hi"))

    assert reply.value == "reader:hi"


async def test_missing_key_is_unauthenticated(start_server: StartServer) -> None:
    server = await start_server()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as bare:
        code, details = await _code(unary(bare, "Echo"), timeout=5)

    assert code == grpc.StatusCode.UNAUTHENTICATED
    assert "authorization: Bearer" in details


@pytest.mark.parametrize("which", ["unknown", "revoked"])
async def test_unknown_or_revoked_key_is_unauthenticated(
    start_server: StartServer, channel_to: OpenChannel, keys: Keys, which: str
) -> None:
    server = await start_server()
    code, _ = await _code(unary(channel_to(server, token=getattr(keys, which)), "Echo"))

    assert code == grpc.StatusCode.UNAUTHENTICATED


async def test_key_without_the_scope_is_permission_denied(
    start_server: StartServer, channel_to: OpenChannel, keys: Keys
) -> None:
    server = await start_server()
    code, details = await _code(unary(channel_to(server, token=keys.reader), "FlakyOther"))

    assert code == grpc.StatusCode.PERMISSION_DENIED
    assert details == f"reader lacks scope 'echo:write' required by {method('FlakyOther')}"


async def test_method_missing_from_the_scope_map_is_denied_even_to_admins(
    start_server: StartServer, channel_to: OpenChannel, keys: Keys
) -> None:
    server = await start_server()
    code, details = await _code(unary(channel_to(server, token=keys.admin), "Unmapped"))

    assert code == grpc.StatusCode.PERMISSION_DENIED
    assert details == f"method {method('Unmapped')} has no scope assigned, so nobody may call it"


async def test_channel_presents_the_service_identity_by_default(
    start_server: StartServer, channel_to: OpenChannel
) -> None:
    server = await start_server()
    reply = await unary(channel_to(server), "Echo")(StringValue(value="x"))

    assert reply.value == "catalog:x"  # settings.service_token belongs to "catalog", scope "*"
