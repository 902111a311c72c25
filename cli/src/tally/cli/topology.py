"""The services of a local stack: their modules, default ports and the peers each one calls."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceSpec:
    """One deployable: its name, its ``python -m`` module, its port offset and the services it calls."""

    name: str
    module: str
    offset: int
    calls: tuple[str, ...] = ()
    grpc_services: tuple[str, ...] = ()
    http: bool = False
    """Also serves HTTP, on its gRPC port + HTTP_PORT_SHIFT."""

    def target_variable(self) -> str:
        """The variable a caller reads this service's address from, e.g. TALLY_CATALOG_TARGET."""
        return f"TALLY_{self.name.upper()}_TARGET"


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        "ingestion",
        "tally.ingestion",
        0,
        grpc_services=(
            "tally.api.ingestion.v1.IngestionService",
            "tally.api.ingestion.v1.IngestionAdminService",
        ),
    ),
    ServiceSpec("metering", "tally.metering", 1, grpc_services=("tally.api.metering.v1.MeteringService",)),
    ServiceSpec("catalog", "tally.catalog", 2, grpc_services=("tally.api.catalog.v1.CatalogService",)),
    ServiceSpec(
        "quoting",
        "tally.quoting",
        3,
        calls=("catalog", "metering", "invoicing"),
        grpc_services=("tally.api.quoting.v1.QuotingService",),
    ),
    ServiceSpec(
        "invoicing",
        "tally.invoicing",
        4,
        calls=("catalog", "metering"),
        grpc_services=("tally.api.invoicing.v1.InvoicingService",),
    ),
    ServiceSpec("erp_sync", "tally.erp_sync", 5, grpc_services=("tally.api.erp_sync.v1.ErpSyncService",)),
    ServiceSpec(
        "gateway",
        "tally.gateway",
        6,
        calls=("ingestion", "metering", "catalog", "quoting", "invoicing", "erp_sync"),
        grpc_services=("tally.api.gateway.v1.GatewayAdminService",),
        http=True,
    ),
    ServiceSpec(
        "insights",
        "tally.insights",
        7,
        calls=("metering", "catalog", "invoicing", "ingestion"),
        grpc_services=("tally.api.insights.v1.InsightsService",),
    ),
)

HTTP_PORT_SHIFT = 1000
"""A service's HTTP port is its gRPC port + 1000 (the gateway: 51067 by default)."""

BY_NAME = {spec.name: spec for spec in SERVICES}
