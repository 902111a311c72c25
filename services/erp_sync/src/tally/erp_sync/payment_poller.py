"""Reads the payments applied in each ERP since its cursor and records each once, announcing it as
PaymentRecorded through the outbox (invoicing marks the invoice paid)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from opentelemetry.trace import SpanKind

from tally.erp_sync.adapters import ErpAdapter
from tally.erp_sync.domain import Erp
from tally.erp_sync.messages import payment_recorded
from tally.erp_sync.payment_book import RecordedPayment
from tally.erp_sync.payments import payment_id
from tally.erp_sync.ports import Payments, PostedInvoices
from tally.erp_sync.posting import PostingError
from tally.mesh import attributes, telemetry
from tally.money import Money

_log = logging.getLogger(__name__)
_tracer = telemetry.tracer("tally.erp_sync.payment_poller")


def _now() -> datetime:
    return datetime.now(UTC)


class PaymentPoller:
    def __init__(
        self,
        payments: Payments,
        invoices: PostedInvoices,
        adapters: Mapping[Erp, ErpAdapter],
        *,
        interval_s: float,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._payments = payments
        self._invoices = invoices
        self._adapters = adapters
        self._interval_s = interval_s
        self._clock = clock

    async def run(self) -> None:
        while True:
            for erp in self._adapters:
                try:
                    await self.poll(erp)
                except PostingError as exc:
                    _log.warning(
                        "%s: reading payments failed (%s); trying again in %ss",
                        erp.value,
                        exc,
                        self._interval_s,
                    )
                except Exception:
                    _log.exception(
                        "%s: reading payments failed; trying again in %ss", erp.value, self._interval_s
                    )
            await asyncio.sleep(self._interval_s)

    async def poll(self, erp: Erp) -> int:
        """Read ``erp``'s payments since its cursor; how many were new."""
        with _tracer.start_as_current_span(
            f"erp-sync read payments from {erp.value.lower()}",
            kind=SpanKind.INTERNAL,
            attributes={attributes.ERP_SYSTEM: erp.value},
        ) as span:
            cursor = await asyncio.to_thread(self._payments.cursor, erp)
            found, next_cursor = await asyncio.to_thread(self._adapters[erp].payments_since, cursor)
            recorded = []
            for payment in found:
                invoice = await asyncio.to_thread(
                    self._invoices.posted_invoice, erp, payment.invoice_internal_id
                )
                if invoice is None:
                    _log.info(
                        "%s payment %s applies to invoice %s, which Tally did not post; ignored",
                        erp.value,
                        payment.reference,
                        payment.invoice_internal_id,
                    )
                    continue
                amount = Money(payment.amount, invoice.currency).rounded()
                pid = payment_id(erp, payment.reference)
                event = payment_recorded(
                    pid,
                    erp,
                    invoice.document_id,
                    invoice.number,
                    amount,
                    payment.received_on,
                    payment.reference,
                )
                recorded.append(
                    RecordedPayment(
                        payment.reference, pid, invoice.document_id, amount.amount, amount.currency, event
                    )
                )
            added = await asyncio.to_thread(
                self._payments.record, erp, recorded, next_cursor, now=self._clock()
            )
            span.set_attribute("tally.payments.new", added)
            return added
