"""Metering's subscriptions: the durable consumer of accepted usage batches."""

from __future__ import annotations

from tally.mesh import streams

USAGE_CONSUMER = streams.METERING_USAGE
"""Every metering replica pulls from this one durable consumer; JetStream spreads batches across them. It is
declared with the USAGE stream (``tally.mesh.streams``), which keeps a batch until this consumer acked it."""
