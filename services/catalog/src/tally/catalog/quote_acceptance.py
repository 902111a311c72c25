"""The QuoteAccepted consumer: an accepted quote read off the wire and bound to a subscription, once."""

from __future__ import annotations

import logging
from dataclasses import replace

from opentelemetry import trace

from tally.api.quoting.v1 import events_pb2 as quoting_events
from tally.catalog.domain import AcceptedQuote
from tally.catalog.handlers import Subscriptions
from tally.catalog.messages import customer_input, subscription_from_wire
from tally.domain.errors import InvalidArgument
from tally.mesh import attributes, streams
from tally.mesh.jetstream import ConsumerSpec, Delivery
from tally.mesh.wire import money_from_wire

_log = logging.getLogger(__name__)

QUOTES_CONSUMER = ConsumerSpec(
    stream=streams.QUOTING.name, durable="catalog-quotes", filter_subject=streams.QUOTE_ACCEPTED
)
"""QuoteAccepted, applied once per message (inbox) and once per quote (unique subscriptions.quote_id)."""


def accepted_quote_from_wire(accepted: quoting_events.QuoteAccepted) -> AcceptedQuote:
    """The customer, subscription and credit the quote makes; InvalidArgument naming every field it cannot use."""
    if not accepted.quote_id:
        raise InvalidArgument.field("quote.quote_id", "is required")
    prospect = customer_input(accepted.prospect) if accepted.HasField("prospect") else None
    if prospect is None and not accepted.customer_id:
        raise InvalidArgument.field("quote.customer_id", "is required unless the quote names a prospect")
    subscription = subscription_from_wire(
        accepted.subscription, field="quote.subscription", customer_required=False
    )
    return AcceptedQuote(
        quote_id=accepted.quote_id,
        quote_version=accepted.quote_version,
        quote_number=accepted.quote_number,
        subscription=replace(
            subscription,
            customer_id="" if prospect is not None else accepted.customer_id,
            quote_id=accepted.quote_id,
            quote_version=accepted.quote_version,
            quote_number=accepted.quote_number,
        ),
        prospect=prospect,
        prepaid_credit=money_from_wire(accepted.prepaid_credit, field="quote.prepaid_credit")
        if accepted.HasField("prepaid_credit")
        else None,
    )


class QuoteAcceptedHandler:
    """Binds an accepted quote's exact terms to a subscription, then acks (after the commit)."""

    def __init__(self, subscriptions: Subscriptions) -> None:
        self._subscriptions = subscriptions

    async def __call__(self, delivery: Delivery) -> None:
        accepted = quoting_events.QuoteAccepted.FromString(delivery.data)
        msg_id = delivery.msg_id or f"{streams.QUOTING.name}:{delivery.stream_sequence}"
        trace.get_current_span().set_attribute(
            attributes.CUSTOMER, accepted.customer_id or accepted.prospect.external_id
        )
        outcome = await self._subscriptions.accept_quote(
            QUOTES_CONSUMER.durable, msg_id, accepted_quote_from_wire(accepted)
        )
        _log.info("quote %s v%d: %s", accepted.quote_id, accepted.quote_version, outcome)
