"""Tally's JetStream contract: the streams, and the subject each event is published on, declared once."""

from __future__ import annotations

import zlib

from tally.mesh.jetstream import StreamSpec

USAGE_PARTITIONS = 16
"""Usage subjects carry a partition token (hash of the customer) so metering groups can split the work."""

DOMAIN_EVENTS_MAX_AGE_S = 90 * 24 * 3600.0
"""Business events (few and small) are kept 90 days, so a consumer down for weeks (invoicing, and the late
usage it must bill) still finds every event it missed. Usage batches, the bulk, keep the default week."""

USAGE = StreamSpec("USAGE", ("tally.usage.>",))
METERING = StreamSpec("METERING", ("tally.metering.>",), max_age_s=DOMAIN_EVENTS_MAX_AGE_S)
CATALOG = StreamSpec("CATALOG", ("tally.catalog.>",), max_age_s=DOMAIN_EVENTS_MAX_AGE_S)
QUOTING = StreamSpec("QUOTING", ("tally.quoting.>",), max_age_s=DOMAIN_EVENTS_MAX_AGE_S)
INVOICING = StreamSpec("INVOICING", ("tally.invoicing.>",), max_age_s=DOMAIN_EVENTS_MAX_AGE_S)
ERP = StreamSpec("ERP", ("tally.erp.>",), max_age_s=DOMAIN_EVENTS_MAX_AGE_S)
GATEWAY = StreamSpec("GATEWAY", ("tally.gateway.>",), max_age_s=DOMAIN_EVENTS_MAX_AGE_S)
"""Declared by the gateway only (not in ALL): what it publishes about webhook delivery itself."""
INSIGHTS = StreamSpec("INSIGHTS", ("tally.insights.>",), max_age_s=DOMAIN_EVENTS_MAX_AGE_S)

ALL = (USAGE, METERING, CATALOG, QUOTING, INVOICING, ERP)

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
