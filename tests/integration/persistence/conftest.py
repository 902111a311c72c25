"""Fixtures for persistence tests: a migrated database and a client of this test's own nats-server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from nats.aio.client import Client as NATS
from sqlalchemy.engine import Engine

from tally.mesh import jetstream
from tally.persistence import migrations
from tally.persistence.engine import create_engine
from tally.testing.nats_server import NatsServer

MIGRATIONS = Path(__file__).parent / "migrations"


@pytest.fixture
def migrations_dir() -> Path:
    """The tests' migration folder: an env.py calling run_env and two revisions."""
    return MIGRATIONS


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on a database migrated to head, on SQLite and on PostgreSQL."""
    migrations.upgrade(database_url, MIGRATIONS)
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
async def nc(nats_server: NatsServer) -> AsyncIterator[NATS]:
    client = await jetstream.connect(nats_server.url, name="test", reconnect_wait_s=0.1)
    yield client
    await client.close()
