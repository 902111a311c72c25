"""``python -m tally.quoting``: wiring only."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import grpc.aio

from tally.api.quoting.v1 import quoting_service_pb2_grpc as pb_grpc
from tally.mesh import streams
from tally.quoting.events import SUBSCRIPTIONS_CONSUMER, SubscriptionChangedHandler
from tally.quoting.handlers import Quotes
from tally.quoting.pdf import render_quote
from tally.quoting.peers import IDEMPOTENT, Catalog, Invoicing, Metering
from tally.quoting.server import SCOPES, SERVICE, QuotingServicer
from tally.quoting.settings import QuotingSettings
from tally.quoting.store import QuoteStore
from tally.runtime.process import Consumer, Runtime, ServiceDefinition, Wiring, main

MIGRATIONS = Path(__file__).resolve().parents[3] / "migrations"


async def wire(runtime: Runtime[QuotingSettings]) -> Wiring:
    settings = runtime.settings

    def peer(target: str) -> grpc.aio.Channel:
        return runtime.channel(target, idempotent=IDEMPOTENT)

    quotes = Quotes(
        QuoteStore(runtime.engine),
        Catalog(peer(settings.catalog_target)) if settings.catalog_target else None,
        rules=settings.approval_rules,
        wake_relay=runtime.relay.wake,
        metering=Metering(peer(settings.metering_target)) if settings.metering_target else None,
        invoicing=Invoicing(peer(settings.invoicing_target)) if settings.invoicing_target else None,
        render=partial(render_quote, issuer=settings.issuer_name),
    )
    return Wiring(
        registrations=[(pb_grpc.add_QuotingServiceServicer_to_server, QuotingServicer(quotes))],
        service_names=[SERVICE],
        scopes=SCOPES,
        consumers=[Consumer(SUBSCRIPTIONS_CONSUMER, SubscriptionChangedHandler(quotes.bind_subscription))],
    )


DEFINITION = ServiceDefinition(
    "quoting", MIGRATIONS, QuotingSettings, wire, streams=[streams.QUOTING, streams.CATALOG]
)

if __name__ == "__main__":
    main(DEFINITION)
