"""Periods closed by invoicing: once a customer's period is invoiced, usage before its end arrives late.

Consumes InvoiceFinalized: a REGULAR invoice moves the customer's ``closed_until_ms`` up to its period end
(never back: invoices may be finalized out of order). Threshold invoices bill an open period early and close
nothing. The update is idempotent, so redeliveries need no inbox.
"""

from __future__ import annotations

import asyncio
import logging

from opentelemetry import trace
from sqlalchemy import Engine, func

from tally.api.invoicing.v1 import events_pb2 as invoicing_events
from tally.api.invoicing.v1 import invoicing_service_pb2 as invoicing_pb
from tally.mesh import streams
from tally.mesh.jetstream import ConsumerSpec, Delivery
from tally.metering.store import closed_periods
from tally.persistence.dialects import upsert_insert

_log = logging.getLogger(__name__)

CLOSING_CONSUMER = ConsumerSpec(
    stream=streams.INVOICING.name,
    durable="metering-invoice-finalized",
    filter_subject=streams.INVOICE_FINALIZED,
)


def closed_until(data: bytes) -> tuple[str, int] | None:
    """(customer as usage names it, period end in ms) that an InvoiceFinalized closes; None if it closes nothing."""
    invoice = invoicing_events.InvoiceFinalized.FromString(data).invoice
    if invoice.kind == invoicing_pb.INVOICE_KIND_THRESHOLD or not invoice.customer_external_id:
        return None
    return invoice.customer_external_id, invoice.period.end.ToMilliseconds()


class PeriodClosing:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def close(self, customer: str, until_ms: int) -> None:
        statement = upsert_insert(closed_periods, self._engine.dialect.name).values(
            customer=customer, closed_until_ms=until_ms
        )
        statement = statement.on_conflict_do_update(
            index_elements=[closed_periods.c.customer],
            set_={
                "closed_until_ms": func.max(
                    closed_periods.c.closed_until_ms, statement.excluded.closed_until_ms
                )
            }
            if self._engine.dialect.name == "sqlite"
            else {
                "closed_until_ms": func.greatest(
                    closed_periods.c.closed_until_ms, statement.excluded.closed_until_ms
                )
            },
        )
        with self._engine.begin() as conn:
            conn.execute(statement)

    async def handle(self, delivery: Delivery) -> None:
        closing = closed_until(delivery.data)
        if closing is None:
            return
        customer, until_ms = closing
        trace.get_current_span().set_attribute("tally.customer", customer)
        await asyncio.to_thread(self.close, customer, until_ms)
        _log.info("usage of %s before %d is now late", customer, until_ms)
