"""A service's readiness reflects its NATS connection and its database, and comes back by itself; liveness
stays SERVING throughout (restarting the pod would not bring the broker or the database back)."""

from __future__ import annotations

import time

import pytest
import sqlalchemy
from grpc_health.v1 import health_pb2
from sqlalchemy.pool import NullPool

from tally.mesh.readiness import LIVENESS_SERVICE
from tally.persistence.engine import normalize_url
from tally.testing.databases import postgres_admin_url
from tally.testing.services import ServiceProcess

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
CATALOG = "tally.api.catalog.v1.CatalogService"
PATIENCE_S = 30.0
"""Readiness is re-checked every 2 s; the rest is margin for a loaded machine."""


def wait_for(service: ServiceProcess, expected: int) -> None:
    deadline = time.monotonic() + PATIENCE_S
    while service.health() != expected:
        assert time.monotonic() < deadline, f"readiness not {expected} after {PATIENCE_S}s:\n{service.log()}"
        time.sleep(0.2)


@pytest.fixture
def catalog(tmp_path, nats_server, postgres_url):
    service = ServiceProcess("catalog", "tally.catalog", postgres_url, nats_server.url, tmp_path / "catalog")
    service.start()
    yield service
    service.kill()


def set_connections(database_url: str, allowed: bool) -> None:
    """Open or close the service's database to new connections, and drop the ones it has."""
    name = normalize_url(database_url).database
    admin = sqlalchemy.create_engine(
        normalize_url(postgres_admin_url()), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}')
        if not allowed:
            conn.exec_driver_sql(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
            )
    admin.dispose()


def test_readiness_follows_nats_and_the_database_while_liveness_stays_serving(
    catalog: ServiceProcess, nats_server, postgres_url
) -> None:
    assert (catalog.health(), catalog.health(CATALOG), catalog.health(LIVENESS_SERVICE)) == (SERVING,) * 3

    nats_server.stop()
    wait_for(catalog, NOT_SERVING)
    assert catalog.health(CATALOG) == NOT_SERVING
    assert catalog.health(LIVENESS_SERVICE) == SERVING
    nats_server.start()
    wait_for(catalog, SERVING)

    set_connections(postgres_url, allowed=False)
    try:
        wait_for(catalog, NOT_SERVING)
        assert catalog.health(LIVENESS_SERVICE) == SERVING
    finally:
        set_connections(postgres_url, allowed=True)
    wait_for(catalog, SERVING)
    assert "not ready: database" in catalog.log(200)
    assert catalog.process is not None and catalog.process.poll() is None
