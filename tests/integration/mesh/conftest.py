"""Fixtures for mesh integration tests: keys, settings, echo servers and channels to them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import grpc
import grpc.aio
import pytest
from mesh_echo import (
    IDEMPOTENT,
    SCOPES,
    SERVICE,
    EchoServicer,
    Keys,
    MakeServer,
    OpenChannel,
    StartServer,
    add_generic,
)

from tally.mesh import telemetry
from tally.mesh.auth import Keyring, generate_key
from tally.mesh.channel import open_channel
from tally.mesh.server import MeshServer
from tally.mesh.settings import MeshSettings


@pytest.fixture
def keys() -> Keys:
    admin, admin_record = generate_key("catalog", {"*"})
    reader, reader_record = generate_key("reader", {"echo:read"})
    revoked, revoked_record = generate_key("former-employee", {"*"})
    unknown, _ = generate_key("stranger", {"*"})
    keyring = Keyring([admin_record, reader_record, revoked_record])
    keyring.revoke(revoked_record.key_id)
    return Keys(keyring=keyring, admin=admin, reader=reader, revoked=revoked, unknown=unknown)


@pytest.fixture
def settings(keys: Keys, tmp_path: Path) -> MeshSettings:
    keys.keyring.save(tmp_path / "keyring.json")
    return MeshSettings(
        database_url="sqlite://",
        nats_url="nats://127.0.0.1:4222",
        keyring_path=tmp_path / "keyring.json",
        service_token=keys.admin,
        grpc_host="127.0.0.1",
        grpc_port=0,
        default_deadline_s=5.0,
        shutdown_grace_s=1.0,
    )


@pytest.fixture
def memory_spans() -> Iterator[telemetry.TelemetryHandle]:
    handle = telemetry.configure("mesh-test", "memory")
    yield handle
    handle.shutdown()


@pytest.fixture
async def make_server(settings: MeshSettings, keys: Keys) -> AsyncIterator[MakeServer]:
    """Builds (not starts) echo servers; every one is shut down after the test."""
    made: list[MeshServer] = []

    def make(
        servicer: EchoServicer | None = None, *, port: int = 0, using: MeshSettings | None = None
    ) -> MeshServer:
        server = MeshServer(
            "echo",
            replace(using or settings, grpc_port=port),
            registrations=[(add_generic, servicer or EchoServicer())],
            service_names=[SERVICE],
            scopes=SCOPES,
            verifier=keys.keyring,
        )
        made.append(server)
        return server

    yield make
    for server in made:
        await server.shutdown()


@pytest.fixture
def start_server(make_server: MakeServer) -> StartServer:
    async def start(servicer: EchoServicer | None = None, *, port: int = 0) -> MeshServer:
        server = make_server(servicer, port=port)
        await server.start()
        return server

    return start


@pytest.fixture
async def channel_to(settings: MeshSettings) -> AsyncIterator[OpenChannel]:
    opened: list[grpc.aio.Channel] = []

    def connect(server: MeshServer, *, token: str | None = None) -> grpc.aio.Channel:
        channel = open_channel(f"127.0.0.1:{server.port}", settings, idempotent=IDEMPOTENT, token=token)
        opened.append(channel)
        return channel

    yield connect
    for channel in opened:
        await channel.close()
