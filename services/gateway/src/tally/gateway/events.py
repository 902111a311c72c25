"""What the gateway consumes: business events, each turned into one webhook message (inbox-claimed)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message as ProtoMessage
from google.protobuf.timestamp_pb2 import Timestamp

from tally.api.erp_sync.v1 import events_pb2 as erp_events
from tally.api.invoicing.v1 import events_pb2 as invoicing_events
from tally.api.metering.v1 import events_pb2 as metering_events
from tally.api.quoting.v1 import events_pb2 as quoting_events
from tally.domain.errors import NotFound
from tally.gateway.domain.webhooks import message_body
from tally.gateway.peers import Peers
from tally.gateway.webhook_store import Message, WebhookStore
from tally.mesh import streams
from tally.mesh.jetstream import ConsumerSpec, Delivery

ALERT_KIND_HEADER = "Tally-Alert-Kind"


@dataclass(frozen=True)
class Translated:
    event_type: str
    customer_id: str | None
    data: dict[str, Any]
    occurred_at: datetime


def as_json(message: ProtoMessage) -> dict[str, Any]:
    """A protobuf message as API JSON: snake_case names, enum names, every field present."""
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def _when(stamp: Timestamp) -> datetime:
    if stamp.seconds == 0 and stamp.nanos == 0:
        return datetime.now(UTC)
    return stamp.ToDatetime(tzinfo=UTC)


class EventTranslator:
    """Turns each subject's message into a webhook type, its customer (catalog id) and its data."""

    def __init__(self, peers: Peers) -> None:
        self._peers = peers

    async def invoice_finalized(self, delivery: Delivery) -> Translated:
        invoice = invoicing_events.InvoiceFinalized.FromString(delivery.data).invoice
        return Translated(
            "invoice.finalized", invoice.customer_id, {"invoice": as_json(invoice)}, _when(invoice.issued_at)
        )

    async def invoice_paid(self, delivery: Delivery) -> Translated:
        invoice = invoicing_events.InvoicePaid.FromString(delivery.data).invoice
        return Translated(
            "invoice.paid", invoice.customer_id, {"invoice": as_json(invoice)}, _when(invoice.paid_at)
        )

    async def credit_note_issued(self, delivery: Delivery) -> Translated:
        note = invoicing_events.CreditNoteIssued.FromString(delivery.data).credit_note
        return Translated(
            "credit_note.issued", note.customer_id, {"credit_note": as_json(note)}, _when(note.issued_at)
        )

    async def alert_triggered(self, delivery: Delivery) -> Translated:
        kind = delivery.headers.get(ALERT_KIND_HEADER, "spend")
        alert: invoicing_events.SpendAlertTriggered | invoicing_events.UsageAlertTriggered
        if kind == "usage":
            alert = invoicing_events.UsageAlertTriggered.FromString(delivery.data)
        else:
            alert = invoicing_events.SpendAlertTriggered.FromString(delivery.data)
        return Translated(
            "alert.triggered",
            alert.customer_id,
            {"kind": kind, "alert": as_json(alert)},
            _when(alert.triggered_at),
        )

    async def usage_late(self, delivery: Delivery) -> Translated:
        late = metering_events.UsageLate.FromString(delivery.data)
        customer = await self._customer_by_external_id(late.customer)
        return Translated("usage.late", customer, {"usage_late": as_json(late)}, _when(late.detected_at))

    async def quote_accepted(self, delivery: Delivery) -> Translated:
        accepted = quoting_events.QuoteAccepted.FromString(delivery.data)
        return Translated(
            "quote.accepted", accepted.customer_id, {"quote": as_json(accepted)}, _when(accepted.accepted_at)
        )

    async def payment_recorded(self, delivery: Delivery) -> Translated:
        payment = erp_events.PaymentRecorded.FromString(delivery.data)
        try:
            customer: str | None = (await self._peers.invoice(payment.invoice_id)).customer_id
        except NotFound:
            customer = None  # still delivered to endpoints that take every customer's events
        return Translated(
            "payment.recorded", customer, {"payment": as_json(payment)}, _when(payment.received_at)
        )

    async def _customer_by_external_id(self, external_id: str) -> str | None:
        try:
            return (await self._peers.customer(external_id)).id
        except NotFound:
            return None


Translate = Callable[[Delivery], Awaitable[Translated]]


def consumer_specs(translator: EventTranslator) -> list[tuple[ConsumerSpec, Translate]]:
    """One durable consumer per subject the gateway delivers (replicas share each one)."""
    subjects: list[tuple[str, str, str, Translate]] = [
        (
            streams.INVOICING.name,
            streams.INVOICE_FINALIZED,
            "invoice-finalized",
            translator.invoice_finalized,
        ),
        (streams.INVOICING.name, streams.INVOICE_PAID, "invoice-paid", translator.invoice_paid),
        (
            streams.INVOICING.name,
            streams.CREDIT_NOTE_ISSUED,
            "credit-note-issued",
            translator.credit_note_issued,
        ),
        (streams.INVOICING.name, streams.ALERT_TRIGGERED, "alert-triggered", translator.alert_triggered),
        (streams.METERING.name, streams.USAGE_LATE, "usage-late", translator.usage_late),
        (streams.QUOTING.name, streams.QUOTE_ACCEPTED, "quote-accepted", translator.quote_accepted),
        (streams.ERP.name, streams.PAYMENT_RECORDED, "payment-recorded", translator.payment_recorded),
    ]
    return [
        (ConsumerSpec(stream=stream, durable=f"gateway-webhooks-{name}", filter_subject=subject), translate)
        for stream, subject, name, translate in subjects
    ]


class WebhookFanOut:
    """Handles one business event: stores its webhook message and one delivery per subscribed endpoint,
    claimed in the inbox in the same transaction, then wakes the deliverer."""

    def __init__(
        self,
        store: WebhookStore,
        translate: Translate,
        wake: Callable[[], None],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._translate = translate
        self._wake = wake
        self._clock = clock

    async def __call__(self, delivery: Delivery) -> None:
        source = delivery.msg_id or f"seq:{delivery.stream_sequence}"
        translated = await self._translate(delivery)
        message = Message(
            id=message_id(delivery.subject, source),
            event_type=translated.event_type,
            customer_id=translated.customer_id,
            body=message_body(translated.event_type, translated.occurred_at, translated.data),
            occurred_at=translated.occurred_at,
        )
        created = await asyncio.to_thread(self._store.record_message, message.id, message, self._clock())
        if created:
            self._wake()


def message_id(subject: str, source_msg_id: str) -> str:
    """The webhook-id of a message: the same for every endpoint, retry and replay (receivers dedupe on it)."""
    return "msg_" + hashlib.sha256(f"{subject}\n{source_msg_id}".encode()).hexdigest()[:32]
