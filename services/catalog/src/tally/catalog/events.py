"""Catalog's published events: CustomerChanged and SubscriptionChanged, as messages for the outbox."""

from __future__ import annotations

from datetime import datetime

from tally.api.catalog.v1 import events_pb2
from tally.catalog.domain import Customer, Subscription
from tally.catalog.messages import customer_to_wire, subscription_to_wire
from tally.catalog.store import OutboxMessage
from tally.mesh import streams
from tally.mesh.wire import timestamp_to_wire


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
