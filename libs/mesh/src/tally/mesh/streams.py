"""Tally's JetStream contract: the streams, and the subject each event is published on, declared once."""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Sequence

from nats.js import JetStreamContext

from tally.mesh.jetstream import ConsumerSpec, StreamCapacityError, StreamSpec
from tally.mesh.settings import MeshSettings

USAGE_PARTITIONS = 16
"""Usage subjects carry a partition token (hash of the customer) so metering groups can split the work."""

DOMAIN_EVENTS_MAX_AGE_S = 90 * 24 * 3600.0
"""Business events (few and small) are kept 90 days, so a consumer down for weeks (invoicing, and the late
usage it must bill) still finds every event it missed. Usage batches, the bulk, keep the default week.
Both ages, the sizes and the replicas come from the settings at start (``sized``)."""

DLQ_SHARE = 8
"""A dead-letter stream may hold an eighth of its stream's bytes: failures are few, and a full one only
delays the failing messages (they stay on their stream, redelivered), never loses them."""

METERING_USAGE = ConsumerSpec(
    stream="USAGE",
    durable="metering-usage",
    filter_subject="tally.usage.batches.>",
    max_deliver=10,
    ack_wait_s=60.0,
)
"""Metering's durable consumer of usage batches, declared with the stream: USAGE keeps a batch only while a
consumer still has to ack it (interest retention), so this one must exist before the first batch arrives,
whichever of ingestion and metering starts first. Every metering replica pulls from it."""

USAGE = StreamSpec("USAGE", ("tally.usage.>",), retention="interest", consumers=(METERING_USAGE,))
"""Interest retention: a batch is freed as soon as metering and insights (its durable consumers) acked it,
so the store holds only the backlog, not a week of history."""
METERING = StreamSpec("METERING", ("tally.metering.>",), max_age_s=DOMAIN_EVENTS_MAX_AGE_S)
CATALOG = StreamSpec("CATALOG", ("tally.catalog.>",), max_age_s=DOMAIN_EVENTS_MAX_AGE_S)
QUOTING = StreamSpec("QUOTING", ("tally.quoting.>",), max_age_s=DOMAIN_EVENTS_MAX_AGE_S)
INVOICING = StreamSpec("INVOICING", ("tally.invoicing.>",), max_age_s=DOMAIN_EVENTS_MAX_AGE_S)
ERP = StreamSpec("ERP", ("tally.erp.>",), max_age_s=DOMAIN_EVENTS_MAX_AGE_S)
GATEWAY = StreamSpec("GATEWAY", ("tally.gateway.>",), max_age_s=DOMAIN_EVENTS_MAX_AGE_S)
"""Declared by the gateway only (not in ALL): what it publishes about webhook delivery itself."""
INSIGHTS = StreamSpec("INSIGHTS", ("tally.insights.>",), max_age_s=DOMAIN_EVENTS_MAX_AGE_S)

ALL = (USAGE, METERING, CATALOG, QUOTING, INVOICING, ERP)
EVERY = (*ALL, GATEWAY, INSIGHTS)
"""Every stream Tally keeps on the broker: what the store must hold at their full sizes."""

USAGE_BATCHES = "tally.usage.batches"
"""Prefix of ``UsageBatchAccepted`` subjects: ``tally.usage.batches.<partition>``."""
USAGE_LATE = "tally.metering.usage_late"
USAGE_THRESHOLD_CROSSED = "tally.metering.threshold_crossed"
METER_CHANGED = "tally.metering.meter_changed"
SUBSCRIPTION_CHANGED = "tally.catalog.subscription_changed"
CUSTOMER_CHANGED = "tally.catalog.customer_changed"
QUOTE_ACCEPTED = "tally.quoting.quote_accepted"
INVOICE_FINALIZED = "tally.invoicing.invoice_finalized"
INVOICE_PAID = "tally.invoicing.invoice_paid"
CREDIT_NOTE_ISSUED = "tally.invoicing.credit_note_issued"
ALERT_TRIGGERED = "tally.invoicing.alert_triggered"
PAYMENT_RECORDED = "tally.erp.payment_recorded"
WEBHOOK_ENDPOINT_DISABLED = "tally.gateway.webhook_endpoint_disabled"
ANOMALY_DETECTED = "tally.insights.anomaly_detected"


def usage_partition(customer: str) -> int:
    """Stable partition of a customer (crc32, so every process and language agrees)."""
    return zlib.crc32(customer.encode()) % USAGE_PARTITIONS


def usage_batch_subject(partition: int) -> str:
    return f"{USAGE_BATCHES}.{partition}"


def sized(spec: StreamSpec, settings: MeshSettings) -> StreamSpec:
    """``spec`` with the replicas, size and age the deployment configured (USAGE has its own pair)."""
    if spec.name == USAGE.name:
        max_bytes, max_age_s = settings.usage_stream_max_bytes, settings.usage_stream_max_age_s
    else:
        max_bytes, max_age_s = settings.event_stream_max_bytes, settings.event_stream_max_age_s
    return dataclasses.replace(
        spec,
        replicas=settings.stream_replicas,
        max_bytes=max_bytes,
        max_age_s=max_age_s,
        dlq_max_bytes=max(max_bytes // DLQ_SHARE, 64 * 1024),
    )


def store_needed(specs: Sequence[StreamSpec]) -> int:
    """Bytes each NATS server needs to hold one replica of every stream and dead-letter stream when full."""
    return sum(spec.max_bytes + spec.dlq_max_bytes for spec in specs)


async def check_capacity(js: JetStreamContext, settings: MeshSettings) -> None:
    """Refuse to start when Tally's streams at their full sizes cannot fit the JetStream store.

    Checked against TALLY_JETSTREAM_STORE_BYTES (each server's max_file_store) when set, and against the
    account's storage limit when the broker has one; the broker itself also refuses a stream it has no room
    for (``ensure_stream`` says so). A stream that does not fit would otherwise be found full in production.
    """
    specs = [sized(spec, settings) for spec in EVERY]
    needed = store_needed(specs)
    breakdown = (
        f"USAGE {settings.usage_stream_max_bytes} bytes (TALLY_USAGE_STREAM_MAX_BYTES) and {len(specs) - 1} "
        f"event streams of {settings.event_stream_max_bytes} bytes (TALLY_EVENT_STREAM_MAX_BYTES), each with "
        f"a dead-letter stream of an eighth of that"
    )
    store = settings.jetstream_store_bytes
    if store is not None and needed > store:
        raise StreamCapacityError(
            f"Tally's streams need {needed} bytes on each NATS server ({breakdown}) but "
            f"TALLY_JETSTREAM_STORE_BYTES is {store}: lower the stream sizes or give JetStream a larger "
            "max_file_store (and set TALLY_JETSTREAM_STORE_BYTES to match)"
        )
    limits = (await js.account_info()).limits
    account = limits.max_storage
    if account is not None and account > 0 and needed * settings.stream_replicas > account:
        raise StreamCapacityError(
            f"Tally's streams need {needed * settings.stream_replicas} bytes of JetStream storage ({breakdown}, "
            f"x {settings.stream_replicas} replicas) but the account may store {account}: lower the stream "
            "sizes or raise the account's max_storage"
        )
