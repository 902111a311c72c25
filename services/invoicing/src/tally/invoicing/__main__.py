"""``python -m tally.invoicing``: wiring only."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import timedelta
from pathlib import Path
from typing import Any

from tally.api.invoicing.v1 import invoicing_service_pb2_grpc as pb_grpc
from tally.invoicing import events
from tally.invoicing.billing.controls import BillingControls
from tally.invoicing.billing.history import RunTrigger
from tally.invoicing.billing.late_usage import LateUsageRecorder
from tally.invoicing.billing.peers import IDEMPOTENT, Catalog, Metering
from tally.invoicing.billing.preview import Previews
from tally.invoicing.billing.rpcs import BillingRpcs
from tally.invoicing.billing.runs import Billing, BillingPolicy
from tally.invoicing.billing.watch import UsageWatch
from tally.invoicing.counters import MeshCounters
from tally.invoicing.credit_ledger.handlers import CreditLedger
from tally.invoicing.credit_ledger.rpcs import CreditLedgerRpcs
from tally.invoicing.credit_notes.handlers import CreditNotes
from tally.invoicing.delivery.handlers import Deliveries
from tally.invoicing.delivery.rpcs import DeliveryRpcs
from tally.invoicing.delivery.smtp import SmtpMail, SmtpServer
from tally.invoicing.documents.handlers import Pdfs
from tally.invoicing.documents.views import Party
from tally.invoicing.handlers import Invoices
from tally.invoicing.receivables.handlers import Receivables
from tally.invoicing.receivables.rpcs import ReceivablesRpcs
from tally.invoicing.server import SCOPES, SERVICE, InvoicingServicer
from tally.invoicing.settings import InvoicingSettings
from tally.invoicing.transactions import SqlTransactions
from tally.mesh import streams
from tally.runtime.process import Consumer, Runtime, ServiceDefinition, Wiring, main

_log = logging.getLogger("tally.invoicing")
MIGRATIONS = Path(__file__).resolve().parents[3] / "migrations"


async def wire(runtime: Runtime[InvoicingSettings]) -> Wiring:
    settings = runtime.settings
    transactions = SqlTransactions(runtime.engine)
    wake_relay = runtime.relay.wake
    # Invoices of customers without a legal entity are printed as from the install's default issuer.
    issuer = Party(
        settings.issuer_name,
        settings.issuer_address,
        tax_id=settings.issuer_tax_id,
        email=settings.issuer_email,
    )
    catalog = (
        Catalog(runtime.channel(settings.catalog_target, idempotent=IDEMPOTENT))
        if settings.catalog_target
        else None
    )
    counters = MeshCounters()
    billing = previews = watch = None
    if catalog is not None and settings.metering_target:
        metering = Metering(runtime.channel(settings.metering_target, idempotent=IDEMPOTENT))
        billing = Billing(
            transactions,
            catalog,
            metering,
            wake_relay,
            finalized=events.invoice_finalized,
            alerted=events.alert_triggered,
            policy=BillingPolicy(
                grace=timedelta(minutes=settings.grace_minutes),
                payment_terms=timedelta(days=settings.payment_terms_days),
                concurrency=max(1, settings.concurrency),
            ),
            counters=counters,
        )
        previews = Previews(billing, catalog, transactions)
        watch = UsageWatch(
            transactions,
            catalog,
            metering,
            wake_relay,
            alerted=events.alert_triggered,
            partition_of=streams.usage_partition,
        )
    invoices = Invoices(
        transactions,
        wake_relay,
        finalized=events.invoice_finalized,
        payment_terms=timedelta(days=settings.payment_terms_days),
        counters=counters,
    )
    receivables = Receivables(
        transactions,
        wake_relay,
        paid=events.invoice_paid,
        consumer=events.PAYMENTS_CONSUMER.durable,
        grants=catalog,
    )
    pdfs = Pdfs(transactions, issuer)
    deliveries = None
    if settings.smtp_host:
        deliveries = Deliveries(
            transactions,
            pdfs,
            SmtpMail(
                SmtpServer(
                    settings.smtp_host,
                    settings.smtp_port,
                    settings.smtp_sender,
                    settings.smtp_username,
                    settings.smtp_password,
                    settings.smtp_starttls,
                    float(settings.smtp_timeout_seconds),
                )
            ),
            default_issuer=settings.issuer_name,
            schedule=[timedelta(seconds=wait) for wait in settings.delivery_retry_seconds],
        )
    return Wiring(
        registrations=[
            (
                pb_grpc.add_InvoicingServiceServicer_to_server,
                InvoicingServicer(
                    invoices,
                    credit_notes=CreditNotes(
                        transactions, wake_relay, issued=events.credit_note_issued, paid=events.invoice_paid
                    ),
                    pdfs=pdfs,
                    billing=BillingRpcs(
                        billing,
                        previews,
                        BillingControls(
                            transactions, changed=None if watch is None else watch.controls_changed
                        ),
                    ),
                    credit_ledger=CreditLedgerRpcs(CreditLedger(transactions, catalog)),
                    receivables=ReceivablesRpcs(receivables, pdfs),
                    deliveries=DeliveryRpcs(deliveries),
                ),
            )
        ],
        service_names=[SERVICE],
        scopes=SCOPES,
        consumers=[
            Consumer(events.PAYMENTS_CONSUMER, events.on_payment_recorded(receivables)),
            Consumer(events.LATE_USAGE_CONSUMER, events.on_usage_late(LateUsageRecorder(transactions))),
            *(
                [
                    Consumer(events.DELIVER_INVOICES, events.deliver_invoice(deliveries)),
                    Consumer(events.DELIVER_CREDIT_NOTES, events.deliver_credit_note(deliveries)),
                ]
                if deliveries is not None
                else []
            ),
        ],
        background=[
            *(
                [scheduled_runs(billing, settings.run_interval_seconds)]
                if billing and settings.run_interval_seconds
                else []
            ),
            *([deliveries.run] if deliveries is not None else []),
            *([watch.run, events.watch_usage(runtime.nats, watch)] if watch is not None else []),
        ],
    )


def scheduled_runs(billing: Billing, interval_seconds: int) -> Callable[[], Coroutine[Any, Any, None]]:
    """Bills everything due every ``interval_seconds``; a failed run is logged and the next one retries."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(interval_seconds)
            try:
                result = await billing.run(trigger=RunTrigger.SCHEDULE)
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
