import importlib.util

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from tally.testing.services import ServiceProcess

SERVICES = [
    ("ingestion", "tally.ingestion", "tally.api.ingestion.v1.IngestionService"),
    ("metering", "tally.metering", "tally.api.metering.v1.MeteringService"),
    ("catalog", "tally.catalog", "tally.api.catalog.v1.CatalogService"),
    ("quoting", "tally.quoting", "tally.api.quoting.v1.QuotingService"),
    ("invoicing", "tally.invoicing", "tally.api.invoicing.v1.InvoicingService"),
    ("erp_sync", "tally.erp_sync", "tally.api.erp_sync.v1.ErpSyncService"),
]


@pytest.mark.parametrize(("name", "module", "service_name"), SERVICES, ids=[s[0] for s in SERVICES])
def test_every_service_answers_health_and_reflection(
    tmp_path, nats_server, database_url, name, module, service_name
):
    if importlib.util.find_spec(f"{module}.__main__") is None:
        pytest.skip(f"python -m {module} does not exist yet")
    service = ServiceProcess(name, module, database_url, nats_server.url, tmp_path / name)
    service.start()
    try:
        with grpc.insecure_channel(service.target) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            for checked in ("", service_name):
                reply = health.Check(health_pb2.HealthCheckRequest(service=checked), timeout=5)
                assert reply.status == health_pb2.HealthCheckResponse.SERVING

            reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
            replies = list(
                reflection.ServerReflectionInfo(
                    iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
                )
            )
            listed = {s.name for s in replies[0].list_services_response.service}
            assert service_name in listed
            assert "grpc.health.v1.Health" in listed
    finally:
        assert service.stop() == 0
