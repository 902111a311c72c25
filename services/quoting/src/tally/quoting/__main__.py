"""``python -m tally.quoting``: wiring only."""

from __future__ import annotations

from pathlib import Path

from tally.api.quoting.v1 import quoting_service_pb2_grpc as pb_grpc
from tally.mesh import streams
from tally.quoting.handlers import Quotes
from tally.quoting.messages import CURRENCY_FIELD
from tally.quoting.server import SCOPES, SERVICE, QuotingServicer
from tally.quoting.settings import QuotingSettings
from tally.quoting.store import QuoteStore
from tally.runtime.process import Runtime, ServiceDefinition, Wiring, main

MIGRATIONS = Path(__file__).resolve().parents[3] / "migrations"


async def wire(runtime: Runtime[QuotingSettings]) -> Wiring:
    quotes = Quotes(QuoteStore(runtime.engine), currency_field=CURRENCY_FIELD)
    return Wiring(
        registrations=[(pb_grpc.add_QuotingServiceServicer_to_server, QuotingServicer(quotes))],
        service_names=[SERVICE],
        scopes=SCOPES,
    )


DEFINITION = ServiceDefinition("quoting", MIGRATIONS, QuotingSettings, wire, streams=[streams.QUOTING])

if __name__ == "__main__":
    main(DEFINITION)
