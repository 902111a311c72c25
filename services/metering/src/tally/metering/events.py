"""Metering's subscriptions: the durable consumer of accepted usage batches."""

from __future__ import annotations

from tally.mesh import streams
from tally.mesh.jetstream import ConsumerSpec

USAGE_CONSUMER = ConsumerSpec(
    stream=streams.USAGE.name,
    durable="metering-usage",
    filter_subject=f"{streams.USAGE_BATCHES}.>",
    max_deliver=10,
    ack_wait_s=60.0,
)
"""Every metering replica pulls from this one durable consumer; JetStream spreads batches across them."""
