"""Fixtures for JetStream tests: a client connected to this test's own nats-server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from nats.aio.client import Client as NATS

from tally.mesh import jetstream
from tally.testing.nats_server import NatsServer


@pytest.fixture
async def nc(nats_server: NatsServer) -> AsyncIterator[NATS]:
    client = await jetstream.connect(nats_server.url, name="test", reconnect_wait_s=0.1)
    yield client
    await client.close()
