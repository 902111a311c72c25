"""``python -m tally.catalog``: wiring only."""

from __future__ import annotations

from pathlib import Path

from tally.api.catalog.v1 import catalog_service_pb2_grpc as pb_grpc
from tally.catalog.handlers import CreditGrants, Customers, LegalEntities, Offers, Subscriptions
from tally.catalog.quote_acceptance import QUOTES_CONSUMER, QuoteAcceptedHandler
from tally.catalog.server import SCOPES, SERVICE, CatalogServicer
from tally.catalog.settings import CatalogSettings
from tally.catalog.store import CatalogStore, CustomerStore
from tally.mesh import streams
from tally.runtime.process import Consumer, Runtime, ServiceDefinition, Wiring, main

MIGRATIONS = Path(__file__).resolve().parents[3] / "migrations"


async def wire(runtime: Runtime[CatalogSettings]) -> Wiring:
    customers = Customers(CustomerStore(runtime.engine), runtime.relay.wake)
    store = CatalogStore(runtime.engine)
    subscriptions = Subscriptions(store, runtime.relay.wake)
    servicer = CatalogServicer(
        customers, Offers(store), subscriptions, CreditGrants(store), LegalEntities(store)
    )
    return Wiring(
        registrations=[(pb_grpc.add_CatalogServiceServicer_to_server, servicer)],
        service_names=[SERVICE],
        scopes=SCOPES,
        consumers=[Consumer(QUOTES_CONSUMER, QuoteAcceptedHandler(subscriptions))],
    )


DEFINITION = ServiceDefinition(
    "catalog", MIGRATIONS, CatalogSettings, wire, streams=[streams.CATALOG, streams.QUOTING]
)

if __name__ == "__main__":
    main(DEFINITION)
