"""Catalog's events: CustomerChanged and SubscriptionChanged (published via the outbox), QuoteAccepted consumed."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from opentelemetry import trace

from tally.api.catalog.v1 import events_pb2
from tally.api.quoting.v1 import events_pb2 as quoting_events
from tally.catalog.domain import Customer, Subscription
from tally.catalog.messages import customer_to_wire, subscription_to_wire
from tally.catalog.store import OutboxMessage
from tally.mesh import attributes, streams
from tally.mesh.jetstream import ConsumerSpec, Delivery
from tally.mesh.wire import timestamp_to_wire

if TYPE_CHECKING:
    from tally.catalog.handlers import Subscriptions

_log = logging.getLogger(__name__)


def customer_created(customer: Customer) -> OutboxMessage:
    """The CustomerChanged(CREATED) event; its id names the customer's version, so a retry is the same event."""
    return _customer_changed(customer, events_pb2.CUSTOMER_CHANGE_KIND_CREATED)


def customer_updated(customer: Customer) -> OutboxMessage:
    """The CustomerChanged(UPDATED) event with the full new snapshot; its id names the new version."""
    return _customer_changed(customer, events_pb2.CUSTOMER_CHANGE_KIND_UPDATED)


def _customer_changed(customer: Customer, kind: events_pb2.CustomerChangeKind) -> OutboxMessage:
    event = events_pb2.CustomerChanged(
        customer=customer_to_wire(customer),
        kind=kind,
        changed_at=timestamp_to_wire(customer.updated_at),
    )
    return OutboxMessage(
        subject=streams.CUSTOMER_CHANGED,
        msg_id=f"customer-changed:{customer.id}:{customer.version}",
        payload=event.SerializeToString(),
    )


def subscription_changed(
    subscription: Subscription, kind: events_pb2.SubscriptionChangeKind, now: datetime
) -> OutboxMessage:
    """SubscriptionChanged with the full snapshot; its id names the subscription's version."""
    event = events_pb2.SubscriptionChanged(
        subscription=subscription_to_wire(subscription, now),
        kind=kind,
        changed_at=timestamp_to_wire(now),
    )
    return OutboxMessage(
        subject=streams.SUBSCRIPTION_CHANGED,
        msg_id=f"subscription-changed:{subscription.id}:{subscription.version}",
        payload=event.SerializeToString(),
    )


QUOTES_CONSUMER = ConsumerSpec(
    stream=streams.QUOTING.name, durable="catalog-quotes", filter_subject=streams.QUOTE_ACCEPTED
)
"""QuoteAccepted, applied once per message (inbox) and once per quote (unique subscriptions.quote_id)."""


class QuoteAcceptedHandler:
    """Binds an accepted quote's exact terms to a subscription, then acks (after the commit)."""

    def __init__(self, subscriptions: Subscriptions) -> None:
        self._subscriptions = subscriptions

    async def __call__(self, delivery: Delivery) -> None:
        accepted = quoting_events.QuoteAccepted.FromString(delivery.data)
        msg_id = delivery.msg_id or f"{streams.QUOTING.name}:{delivery.stream_sequence}"
        trace.get_current_span().set_attribute(attributes.CUSTOMER, accepted.customer_id)
        outcome = await self._subscriptions.accept_quote(QUOTES_CONSUMER.durable, msg_id, accepted)
        _log.info("quote %s v%d: %s", accepted.quote_id, accepted.quote_version, outcome)
