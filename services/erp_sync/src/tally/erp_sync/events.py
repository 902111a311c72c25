"""erp-sync's subscriptions: durable consumers of finalized invoices and issued credit notes."""

from __future__ import annotations

from tally.mesh import streams
from tally.mesh.jetstream import ConsumerSpec

INVOICES_CONSUMER = ConsumerSpec(
    stream=streams.INVOICING.name,
    durable="erp-sync-invoices",
    filter_subject=streams.INVOICE_FINALIZED,
)
CREDIT_NOTES_CONSUMER = ConsumerSpec(
    stream=streams.INVOICING.name,
    durable="erp-sync-credit-notes",
    filter_subject=streams.CREDIT_NOTE_ISSUED,
)
