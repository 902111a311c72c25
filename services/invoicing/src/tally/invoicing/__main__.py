"""``python -m tally.invoicing``: wiring only."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tally.api.invoicing.v1 import invoicing_service_pb2_grpc as pb_grpc
from tally.invoicing.events import PAYMENTS_CONSUMER
from tally.invoicing.handlers import Invoices, PaymentRecorder
from tally.invoicing.server import SCOPES, SERVICE, InvoicingServicer
from tally.invoicing.settings import InvoicingSettings
from tally.invoicing.store import InvoiceStore, PaymentLedger
from tally.mesh import streams
from tally.runtime.process import Consumer, Runtime, ServiceDefinition, Wiring, main

MIGRATIONS = Path(__file__).resolve().parents[3] / "migrations"


async def wire(runtime: Runtime[InvoicingSettings]) -> Wiring:
    payments = PaymentRecorder(PaymentLedger(runtime.engine, PAYMENTS_CONSUMER.durable))
    return Wiring(
        registrations=[
            (
                pb_grpc.add_InvoicingServiceServicer_to_server,
                InvoicingServicer(
                    Invoices(
                        InvoiceStore(runtime.engine),
                        runtime.relay.wake,
                        payment_terms=timedelta(days=runtime.settings.payment_terms_days),
                    )
                ),
            )
        ],
        service_names=[SERVICE],
        scopes=SCOPES,
        consumers=[Consumer(PAYMENTS_CONSUMER, payments.handle)],
    )


DEFINITION = ServiceDefinition(
    "invoicing", MIGRATIONS, InvoicingSettings, wire, streams=[streams.INVOICING, streams.ERP]
)

if __name__ == "__main__":
    main(DEFINITION)
