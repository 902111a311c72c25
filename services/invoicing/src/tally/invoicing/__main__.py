"""``python -m tally.invoicing``: wiring only."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any

from tally.api.invoicing.v1 import invoicing_service_pb2_grpc as pb_grpc
from tally.invoicing.billing.alerts import AlertOutbox
from tally.invoicing.billing.late_usage import LATE_USAGE_CONSUMER, LateUsageRecorder
from tally.invoicing.billing.peers import IDEMPOTENT, Catalog, Metering
from tally.invoicing.billing.rpcs import BillingRpcs
from tally.invoicing.billing.runs import Billing, BillingPolicy
from tally.invoicing.billing.store import BillingStore
from tally.invoicing.credit_notes.handlers import CreditNotes, Pdfs
from tally.invoicing.credit_notes.store import CreditNoteStore
from tally.invoicing.documents.views import Party
from tally.invoicing.events import PAYMENTS_CONSUMER
from tally.invoicing.handlers import Invoices, PaymentRecorder
from tally.invoicing.server import SCOPES, SERVICE, InvoicingServicer
from tally.invoicing.settings import InvoicingSettings
from tally.invoicing.store import InvoiceStore, PaymentLedger
from tally.mesh import streams
from tally.runtime.process import Consumer, Runtime, ServiceDefinition, Wiring, main

_log = logging.getLogger("tally.invoicing")
MIGRATIONS = Path(__file__).resolve().parents[3] / "migrations"


async def wire(runtime: Runtime[InvoicingSettings]) -> Wiring:
    payments = PaymentRecorder(PaymentLedger(runtime.engine, PAYMENTS_CONSUMER.durable))
    settings = runtime.settings
    issuer = Party(
        settings.issuer_name,
        settings.issuer_address,
        tax_id=settings.issuer_tax_id,
        email=settings.issuer_email,
    )
    credit_note_store = CreditNoteStore(runtime.engine)
    billing_store = BillingStore(runtime.engine)
    alerts = AlertOutbox(runtime.engine, runtime.relay.wake)
    catalog = (
        Catalog(runtime.channel(settings.catalog_target, idempotent=IDEMPOTENT))
        if settings.catalog_target
        else None
    )
    billing = None
    if catalog is not None and settings.metering_target:
        metering = Metering(runtime.channel(settings.metering_target, idempotent=IDEMPOTENT))
        billing = Billing(
            billing_store,
            catalog,
            metering,
            runtime.relay.wake,
            alerts=alerts,
            policy=BillingPolicy(
                grace=timedelta(minutes=settings.grace_minutes),
                payment_terms=timedelta(days=settings.payment_terms_days),
                concurrency=max(1, settings.concurrency),
            ),
        )
    late_usage = LateUsageRecorder(billing_store)
    return Wiring(
        registrations=[
            (
                pb_grpc.add_InvoicingServiceServicer_to_server,
                InvoicingServicer(
                    Invoices(
                        InvoiceStore(runtime.engine),
                        runtime.relay.wake,
                        payment_terms=timedelta(days=runtime.settings.payment_terms_days),
                    ),
                    credit_notes=CreditNotes(credit_note_store, runtime.relay.wake),
                    pdfs=Pdfs(InvoiceStore(runtime.engine), credit_note_store, issuer),
                    billing=BillingRpcs(runtime.engine, billing, alerts, catalog),
                ),
            )
        ],
        service_names=[SERVICE],
        scopes=SCOPES,
        consumers=[
            Consumer(PAYMENTS_CONSUMER, payments.handle),
            Consumer(LATE_USAGE_CONSUMER, late_usage.handle),
        ],
        background=[scheduled_runs(billing, settings.run_interval_seconds)]
        if billing and settings.run_interval_seconds
        else [],
    )


def scheduled_runs(billing: Billing, interval_seconds: int) -> Callable[[], Coroutine[Any, Any, None]]:
    """Bills everything due every ``interval_seconds``; a failed run is logged and the next one retries."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(interval_seconds)
            try:
                result = await billing.run()
                _log.info(
                    "scheduled billing run: %d evaluated, %d drafted, %d finalized, %d failed",
                    result.evaluated,
                    result.drafted,
                    result.finalized,
                    len(result.failures),
                )
            except Exception:
                _log.exception("scheduled billing run failed")

    return loop


DEFINITION = ServiceDefinition(
    "invoicing",
    MIGRATIONS,
    InvoicingSettings,
    wire,
    streams=[streams.INVOICING, streams.ERP, streams.METERING],
)

if __name__ == "__main__":
    main(DEFINITION)
