"""A service started while its database refuses connections waits, not ready but alive, and then serves."""

from __future__ import annotations

import time

from grpc_health.v1 import health_pb2

from tally.mesh.readiness import LIVENESS_SERVICE
from tally.testing.databases import set_connections
from tally.testing.services import ServiceProcess

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def test_a_service_started_during_a_database_outage_waits_then_serves(
    tmp_path, nats_server, postgres_url
) -> None:
    catalog = ServiceProcess("catalog", "tally.catalog", postgres_url, nats_server.url, tmp_path / "catalog")
    set_connections(postgres_url, allowed=False)
    try:
        catalog.start(ready=False)
        time.sleep(3)  # several attempts, each refused
        assert catalog.process is not None and catalog.process.poll() is None, catalog.log()
        assert catalog.health() == NOT_SERVING
        assert catalog.health(LIVENESS_SERVICE) == SERVING
        assert "database unavailable at start, retrying" in catalog.log(50)
    finally:
        set_connections(postgres_url, allowed=True)
    try:
        deadline = time.monotonic() + 30
        while catalog.health() != SERVING:
            assert time.monotonic() < deadline, catalog.log()
            time.sleep(0.2)
        assert catalog.health("tally.api.catalog.v1.CatalogService") == SERVING
        assert catalog.stop() == 0
    finally:
        catalog.kill()


def test_a_service_told_to_stop_while_waiting_for_its_database_exits_cleanly(
    tmp_path, nats_server, postgres_url
) -> None:
    catalog = ServiceProcess("catalog", "tally.catalog", postgres_url, nats_server.url, tmp_path / "catalog")
    set_connections(postgres_url, allowed=False)
    try:
        catalog.start(ready=False)
        assert catalog.stop() == 0
    finally:
        catalog.kill()
        set_connections(postgres_url, allowed=True)
