"""Invoicing use cases: read invoices, and record the payments the ERPs report against them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from opentelemetry import trace

from tally.domain.errors import InvalidArgument, NotFound
from tally.invoicing.domain import Invoice, PaymentOutcome
from tally.invoicing.events import invoice_finalized
from tally.invoicing.messages import payment_from_wire
from tally.invoicing.store import InvoiceFilter, InvoiceKey, InvoiceStore, PaymentLedger
from tally.mesh import attributes
from tally.mesh.jetstream import Delivery

_log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


class Invoices:
    """Reads invoices and finalizes drafts."""

    def __init__(
        self,
        store: InvoiceStore,
        wake_relay: Callable[[], None],
        *,
        payment_terms: timedelta = timedelta(days=30),
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._store = store
        self._wake_relay = wake_relay
        self._payment_terms = payment_terms
        self._clock = clock

    async def get(self, invoice_id: str) -> Invoice:
        if not invoice_id:
            raise InvalidArgument.field("invoice_id", "is required")
        invoice = await asyncio.to_thread(self._store.get, invoice_id)
        if invoice is None:
            raise NotFound("invoice", invoice_id, field="invoice_id")
        return invoice

    async def finalize(self, invoice_id: str) -> Invoice:
        """Numbers a DRAFT and freezes it as FINALIZED; InvoiceFinalized is published after the commit."""
        if not invoice_id:
            raise InvalidArgument.field("invoice_id", "is required")
        trace.get_current_span().set_attribute(attributes.INVOICE, invoice_id)
        finalized = await asyncio.to_thread(
            self._store.finalize,
            invoice_id,
            now=self._clock(),
            payment_terms=self._payment_terms,
            event=invoice_finalized,
        )
        self._wake_relay()
        _log.info("invoice %s finalized as %s", finalized.id, finalized.number)
        return finalized

    async def list(self, where: InvoiceFilter, *, after: InvoiceKey | None, limit: int) -> list[Invoice]:
        return await asyncio.to_thread(self._store.list, where, after=after, limit=limit)


class PaymentRecorder:
    """Handles PaymentRecorded: the payment is applied once, whatever the redeliveries and re-publishes."""

    def __init__(self, ledger: PaymentLedger, *, clock: Callable[[], datetime] = _now) -> None:
        self._ledger = ledger
        self._clock = clock

    async def handle(self, delivery: Delivery) -> None:
        now = self._clock()
        payment = payment_from_wire(delivery.data, default_received_at=now)
        # Without a publisher id the stream position still identifies a redelivery of the same message.
        msg_id = delivery.msg_id or f"stream-seq:{delivery.stream_sequence}"
        outcome = await asyncio.to_thread(self._ledger.record, msg_id, payment, now=now)
        span = trace.get_current_span()
        span.set_attribute(attributes.INVOICE, payment.invoice_id)
        span.set_attribute(attributes.INBOX_DUPLICATE, outcome is PaymentOutcome.DUPLICATE)
        if outcome is PaymentOutcome.UNKNOWN_INVOICE:
            _log.warning(
                "payment %s names unknown invoice %s; nothing recorded",
                payment.payment_id,
                payment.invoice_id,
            )
        elif outcome is PaymentOutcome.CURRENCY_MISMATCH:
            _log.warning(
                "payment %s is in %s, not in invoice %s's currency; nothing recorded",
                payment.payment_id,
                payment.amount.currency,
                payment.invoice_id,
            )
        else:
            _log.info("payment %s on invoice %s: %s", payment.payment_id, payment.invoice_id, outcome.value)
