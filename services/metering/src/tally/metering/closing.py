"""Periods closed by invoicing: once a customer's period is invoiced, usage before its end arrives late.

Consumes InvoiceFinalized: a REGULAR invoice moves the customer's ``closed_until_ms`` up to its period end
(never back: invoices may be finalized out of order). Threshold invoices bill an open period early and close
nothing.

An invoice that read no usage (``usage_read_at`` unset: an opening invoice of in-advance fees) closes nothing.

Usage is read for an invoice before it is finalized (moments before in a billing run, possibly days before for
a draft finalized by hand), and metering hears of the finalization after: an event of the period stored in
between would be on neither the invoice nor a later correction. So the close also sweeps the period's events
stored after the read and flags those not yet late as late (UsageLate, as for any late event). Which ones:

- the invoice carries a usage watermark (watermark.py), taken before its usage was read: the events stored at
  or past it. An event committed before the read is on the invoice and stays on time, however close to the
  read it arrived.
- an invoice drafted before invoices kept one: the events stored (``recorded_at_ms``, this service's clock)
  since ``margin`` before its ``usage_read_at``. That margin also flags on-time events stored just before the
  read: harmless (invoicing re-prices and finds nothing to add) but misleading, hence the watermark.

The close takes the usage lock, so a recording transaction either committed before the sweep (and is swept)
or reads the new close after its insert. Idempotent: a redelivered close finds nothing new (the flags are set).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from tally.api.invoicing.v1 import events_pb2 as invoicing_events
from tally.api.invoicing.v1 import invoicing_service_pb2 as invoicing_pb
from tally.mesh import attributes as attr
from tally.mesh import streams
from tally.mesh.jetstream import ConsumerSpec, Delivery, SpanAttributes
from tally.metering.closed_periods import ClosedPeriodStore
from tally.metering.late_usage import announce_late

_log = logging.getLogger(__name__)

CLOSING_CONSUMER = ConsumerSpec(
    stream=streams.INVOICING.name,
    durable="metering-invoice-finalized",
    filter_subject=streams.INVOICE_FINALIZED,
)

DEFAULT_CLOSE_MARGIN = timedelta(seconds=30)


@dataclass(frozen=True)
class Closing:
    """What one finalized invoice closes: a customer's usage up to ``until_ms``."""

    invoice_id: str
    customer: str
    """The customer as usage names it (the external id)."""
    start_ms: int
    until_ms: int
    usage_read_at_ms: int
    usage_watermark: int = 0
    """Metering's watermark taken before the invoice read usage; 0 for invoices drafted before they kept one."""


def closing_of(data: bytes) -> Closing | None:
    """What an InvoiceFinalized closes; None if it closes nothing (a threshold invoice, an invoice that read no
    usage, no customer)."""
    invoice = invoicing_events.InvoiceFinalized.FromString(data).invoice
    if (
        invoice.kind == invoicing_pb.INVOICE_KIND_THRESHOLD
        or not invoice.customer_external_id
        or not invoice.HasField("usage_read_at")
    ):
        return None
    return Closing(
        invoice.id,
        invoice.customer_external_id,
        invoice.period.start.ToMilliseconds(),
        invoice.period.end.ToMilliseconds(),
        invoice.usage_read_at.ToMilliseconds(),
        invoice.usage_watermark,
    )


class PeriodClosing:
    def __init__(
        self,
        periods: ClosedPeriodStore,
        *,
        margin: timedelta = DEFAULT_CLOSE_MARGIN,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._periods = periods
        self._margin_ms = int(margin.total_seconds() * 1000)
        self._clock = clock

    def close(self, closing: Closing) -> int:
        """Move the customer's closed period up and sweep it; how many events were found late."""
        return self.close_many([closing])[0]

    def close_many(self, closings: Sequence[Closing]) -> list[int]:
        """``close`` for a fetch of closings in one transaction: one usage lock, however many invoices a
        billing run finalized at once."""
        periods = self._periods
        with periods.locked() as conn:
            swept = []
            for closing in closings:
                periods.move_close(conn, closing.customer, closing.until_ms)
                late = periods.flag_stored_after_read(
                    conn,
                    closing.customer,
                    closing.start_ms,
                    closing.until_ms,
                    watermark=closing.usage_watermark,
                    recorded_since_ms=closing.usage_read_at_ms - self._margin_ms,
                )
                if late:
                    defined = periods.meters(conn)
                    now_ms = int(self._clock() * 1000)
                    for producer_id, found in sorted(late.items()):
                        announce_late(
                            conn, defined, producer_id, f"close:{closing.invoice_id}", now_ms, found
                        )
                swept.append(sum(len(found) for found in late.values()))
            return swept

    async def handle(self, deliveries: Sequence[Delivery]) -> list[SpanAttributes]:
        """A fetch of InvoiceFinalized messages, closed together; span attributes per message."""
        closings = [closing_of(delivery.data) for delivery in deliveries]
        wanted = [closing for closing in closings if closing is not None]
        swept = iter(await asyncio.to_thread(self.close_many, wanted) if wanted else [])
        attributes: list[SpanAttributes] = []
        for closing in closings:
            if closing is None:
                attributes.append({})
                continue
            found = next(swept)
            attributes.append({attr.CUSTOMER: closing.customer, attr.EVENTS_LATE: found})
            _log.info(
                "usage of %s before %d is now late (%d stored after the invoice read usage)",
                closing.customer,
                closing.until_ms,
                found,
            )
        return attributes
