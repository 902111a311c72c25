"""The QuoteAccepted consumer: an accepted quote read off the wire and bound to a subscription, once."""

from __future__ import annotations

import logging

from opentelemetry import trace

from tally.api.quoting.v1 import events_pb2 as quoting_events
from tally.catalog.domain import AcceptedQuote, Subscription
from tally.catalog.handlers import Subscriptions
from tally.catalog.messages import billing_cycle_from_wire, overrides_from_wire
from tally.domain.errors import InvalidArgument
from tally.mesh import attributes, streams
from tally.mesh.jetstream import ConsumerSpec, Delivery
from tally.mesh.wire import timestamp_from_wire
from tally.pricing.cycles import add_months

_log = logging.getLogger(__name__)

QUOTES_CONSUMER = ConsumerSpec(
    stream=streams.QUOTING.name, durable="catalog-quotes", filter_subject=streams.QUOTE_ACCEPTED
)
"""QuoteAccepted, applied once per message (inbox) and once per quote (unique subscriptions.quote_id)."""


def accepted_quote_from_wire(accepted: quoting_events.QuoteAccepted) -> AcceptedQuote:
    """The subscription the quote's terms make; InvalidArgument naming the first field it cannot use."""
    if not accepted.quote_id:
        raise InvalidArgument.field("quote.quote_id", "is required")
    start = timestamp_from_wire(accepted.start_at)
    if start is None:
        raise InvalidArgument.field("quote.start_at", "is required")
    return AcceptedQuote(
        quote_id=accepted.quote_id,
        quote_version=accepted.quote_version,
        subscription=Subscription(
            id="",
            customer_id=accepted.customer_id,
            plan_version_id=accepted.plan_version_id,
            start_at=start,
            billing_cycle=billing_cycle_from_wire(accepted.billing_cycle, field="quote.billing_cycle"),
            end_at=add_months(start, accepted.term_months) if accepted.term_months > 0 else None,
            overrides=overrides_from_wire(accepted.overrides, field="quote.overrides"),
            quote_id=accepted.quote_id,
            quote_version=accepted.quote_version,
        ),
    )


class QuoteAcceptedHandler:
    """Binds an accepted quote's exact terms to a subscription, then acks (after the commit)."""

    def __init__(self, subscriptions: Subscriptions) -> None:
        self._subscriptions = subscriptions

    async def __call__(self, delivery: Delivery) -> None:
        accepted = quoting_events.QuoteAccepted.FromString(delivery.data)
        msg_id = delivery.msg_id or f"{streams.QUOTING.name}:{delivery.stream_sequence}"
        trace.get_current_span().set_attribute(attributes.CUSTOMER, accepted.customer_id)
        outcome = await self._subscriptions.accept_quote(
            QUOTES_CONSUMER.durable, msg_id, accepted_quote_from_wire(accepted)
        )
        _log.info("quote %s v%d: %s", accepted.quote_id, accepted.quote_version, outcome)
