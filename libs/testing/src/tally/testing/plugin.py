"""Pytest plugin: registers Tally fixtures (nats-server on a free port, databases, in-memory spans)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tally.testing.databases import database_url, postgres_skips, postgres_url
from tally.testing.nats_server import NatsServer
from tally.testing.tracing import in_memory_exporter

__all__ = [
    "database_url",
    "nats_server",
    "nats_server_session",
    "postgres_url",
    "secured_nats_server",
    "spans",
]


@pytest.fixture
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """A nats-server with JetStream of this test's own: no streams or messages leak between tests."""
    server = NatsServer(tmp_path_factory.mktemp("nats"))
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def secured_nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """A nats-server that admits only Tally's nkey identities, each with its least-privilege permissions."""
    server = NatsServer(tmp_path_factory.mktemp("nats"), authorization=True)
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture(scope="session")
def nats_server_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """One nats-server for the whole session, for tests that never pause, restart or share stream names."""
    server = NatsServer(tmp_path_factory.mktemp("nats-session"))
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def spans() -> InMemorySpanExporter:
    """Spans finished during this test, recorded by a fresh in-memory telemetry configuration."""
    return in_memory_exporter()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if postgres_skips:
        terminalreporter.write_sep(
            "!",
            f"{len(postgres_skips)} PostgreSQL test(s) SKIPPED, not passed: {postgres_skips[0]}",
            yellow=True,
            bold=True,
        )
        terminalreporter.write_line("set TALLY_REQUIRE_POSTGRES=1 to make this a failure")
