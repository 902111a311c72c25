"""Invoicing's events on the wire: what it publishes through the outbox (InvoiceFinalized, InvoicePaid,
CreditNoteIssued, spend and usage alerts), and what it consumes (PaymentRecorded, UsageLate: each delivery decoded
and handed to its use case)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from tally.api.common.v1 import money_pb2
from tally.api.invoicing.v1 import events_pb2
from tally.api.metering.v1 import events_pb2 as metering_events
from tally.domain.errors import InvalidArgument
from tally.invoicing.billing.alerts import Alert, AlertKind
from tally.invoicing.billing.late_usage import LateUsageRecorder
from tally.invoicing.billing.usage import LateUsage
from tally.invoicing.billing.watch import UsageWatch
from tally.invoicing.credit_notes.domain import CreditNote
from tally.invoicing.credit_notes.messages import credit_note_to_wire
from tally.invoicing.delivery.handlers import Deliveries
from tally.invoicing.domain import Invoice, OutboxMessage
from tally.invoicing.messages import invoice_to_wire, payment_from_wire, period_to_wire
from tally.invoicing.receivables.handlers import Receivables
from tally.mesh import streams
from tally.mesh.jetstream import ConsumerSpec, Delivery
from tally.mesh.wire import decimal_to_wire, timestamp_from_wire, timestamp_to_wire
from tally.pricing import Period

_log = logging.getLogger(__name__)

DELIVER_INVOICES = ConsumerSpec(
    stream=streams.INVOICING.name,
    durable="invoicing-delivery-invoices",
    filter_subject=streams.INVOICE_FINALIZED,
)
"""Invoicing's own InvoiceFinalized, read back to deliver each invoice once it is committed and published."""

DELIVER_CREDIT_NOTES = ConsumerSpec(
    stream=streams.INVOICING.name,
    durable="invoicing-delivery-credit-notes",
    filter_subject=streams.CREDIT_NOTE_ISSUED,
)

PAYMENTS_CONSUMER = ConsumerSpec(
    stream=streams.ERP.name,
    durable="invoicing-payments",
    filter_subject=streams.PAYMENT_RECORDED,
)
"""Every invoicing replica pulls PaymentRecorded from this one durable consumer."""

LATE_USAGE_CONSUMER = ConsumerSpec(
    stream=streams.METERING.name,
    durable="invoicing-usage-late",
    filter_subject=streams.USAGE_LATE,
)


def invoice_finalized(invoice: Invoice) -> OutboxMessage:
    """InvoiceFinalized with the full snapshot; an invoice is finalized once, so its id names the event."""
    return OutboxMessage(
        subject=streams.INVOICE_FINALIZED,
        msg_id=f"invoice-finalized:{invoice.id}",
        payload=events_pb2.InvoiceFinalized(invoice=invoice_to_wire(invoice)).SerializeToString(),
    )


def invoice_paid(invoice: Invoice) -> OutboxMessage:
    """InvoicePaid with the invoice as settled; an invoice is settled once, so its id names the event."""
    return OutboxMessage(
        subject=streams.INVOICE_PAID,
        msg_id=f"invoice-paid:{invoice.id}",
        payload=events_pb2.InvoicePaid(invoice=invoice_to_wire(invoice)).SerializeToString(),
    )


def credit_note_issued(note: CreditNote) -> OutboxMessage:
    """CreditNoteIssued with the full credit note; a credit note is issued once, so its id names the event."""
    return OutboxMessage(
        subject=streams.CREDIT_NOTE_ISSUED,
        msg_id=f"credit-note-issued:{note.id}",
        payload=events_pb2.CreditNoteIssued(credit_note=credit_note_to_wire(note)).SerializeToString(),
    )


def alert_triggered(alert: Alert) -> OutboxMessage:
    """SpendAlertTriggered or UsageAlertTriggered (header ``Tally-Alert-Kind: spend|usage``); an alert fires once
    per subscription, alert and period, which name the event."""
    period = period_to_wire(alert.period)
    at = timestamp_to_wire(alert.triggered_at)
    if alert.kind is AlertKind.SPEND:
        payload = events_pb2.SpendAlertTriggered(
            customer_id=alert.customer_id,
            subscription_id=alert.subscription_id,
            threshold=money_pb2.Money(amount=decimal_to_wire(alert.threshold), currency=alert.currency),
            spend=money_pb2.Money(amount=decimal_to_wire(alert.reached), currency=alert.currency),
            period=period,
            triggered_at=at,
        ).SerializeToString()
    else:
        payload = events_pb2.UsageAlertTriggered(
            customer_id=alert.customer_id,
            subscription_id=alert.subscription_id,
            charge_id=alert.charge_id,
            threshold=decimal_to_wire(alert.threshold),
            quantity=decimal_to_wire(alert.reached),
            period=period,
            triggered_at=at,
        ).SerializeToString()
    return OutboxMessage(
        subject=streams.ALERT_TRIGGERED,
        msg_id=f"alert:{alert.subscription_id}:{alert.key}:{alert.period.start.isoformat()}",
        payload=payload,
        headers=(("Tally-Alert-Kind", alert.kind.value),),
    )


def _message_id(delivery: Delivery) -> str:
    # Without a publisher id the stream position still identifies a redelivery of the same message.
    return delivery.msg_id or f"stream-seq:{delivery.stream_sequence}"


def on_payment_recorded(payments: Receivables) -> Callable[[Delivery], Awaitable[None]]:
    async def handle(delivery: Delivery) -> None:
        payment = payment_from_wire(delivery.data, default_received_at=datetime.now(UTC))
        await payments.record(_message_id(delivery), payment)

    return handle


def late_usage_from_wire(message_id: str, data: bytes) -> tuple[LateUsage, str, datetime | None]:
    """The late usage a UsageLate message reports, its cause and when it was detected."""
    event = metering_events.UsageLate.FromString(data)
    if not event.customer:
        raise InvalidArgument.field("customer", "is required")
    start, end = timestamp_from_wire(event.period.start), timestamp_from_wire(event.period.end)
    if start is None or end is None or end <= start:
        raise InvalidArgument.field("period", "needs a start before its end")
    cause = metering_events.LateCause.Name(event.cause).removeprefix("LATE_CAUSE_")
    late = LateUsage(
        message_id, event.customer, tuple(event.meter_ids), tuple(event.event_ids), Period(start, end)
    )
    return late, cause, timestamp_from_wire(event.detected_at)


def on_usage_late(recorder: LateUsageRecorder) -> Callable[[Delivery], Awaitable[None]]:
    async def handle(delivery: Delivery) -> None:
        late, cause, detected_at = late_usage_from_wire(_message_id(delivery), delivery.data)
        await recorder.record(late, cause=cause, detected_at=detected_at)

    return handle


def deliver_invoice(deliveries: Deliveries) -> Callable[[Delivery], Awaitable[None]]:
    async def handle(delivery: Delivery) -> None:
        event = events_pb2.InvoiceFinalized.FromString(delivery.data)
        if not event.invoice.id:
            raise InvalidArgument.field("invoice.id", "is required")
        await deliveries.invoice_finalized(_message_id(delivery), event.invoice.id)

    return handle


def deliver_credit_note(deliveries: Deliveries) -> Callable[[Delivery], Awaitable[None]]:
    async def handle(delivery: Delivery) -> None:
        event = events_pb2.CreditNoteIssued.FromString(delivery.data)
        if not event.credit_note.id:
            raise InvalidArgument.field("credit_note.id", "is required")
        await deliveries.credit_note_issued(_message_id(delivery), event.credit_note.id)

    return handle


USAGE_WATCH_GROUP = "invoicing-usage-watch"
"""Queue group of the usage signals: each batch reaches one invoicing replica."""


def watch_usage(nats: NATS, watch: UsageWatch) -> Callable[[], Coroutine[Any, Any, None]]:
    """Listens to the usage partitions of the watched customers (core NATS, new batches only: a signal, not a
    record; the watch's sweeps catch what was not heard) and hands each batch to the watch undecoded."""

    async def listen() -> None:
        subscriptions: dict[int, Subscription] = {}

        def on_batch(partition: int) -> Callable[[Msg], Awaitable[None]]:
            async def handle(msg: Msg) -> None:
                watch.signal(partition, msg.data)

            return handle

        try:
            while True:
                wanted = watch.partitions
                _log.info("listening to usage partitions %s for alerts", sorted(wanted))
                for partition in set(subscriptions) - wanted:
                    await subscriptions.pop(partition).unsubscribe()
                for partition in wanted - set(subscriptions):
                    subscriptions[partition] = await nats.subscribe(
                        streams.usage_batch_subject(partition),
                        queue=USAGE_WATCH_GROUP,
                        cb=on_batch(partition),
                    )
                await watch.wait_for_change()
        finally:
            for subscription in subscriptions.values():
                await subscription.unsubscribe()

    return listen
