"""Quoting's events: QuoteAccepted (published via the outbox), SubscriptionChanged consumed to learn the
subscription catalog made from an accepted quote."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from opentelemetry import trace

from tally.api.catalog.v1 import catalog_service_pb2 as cat
from tally.api.catalog.v1 import events_pb2 as catalog_events
from tally.api.quoting.v1 import events_pb2
from tally.mesh import attributes, streams
from tally.mesh.jetstream import ConsumerSpec, Delivery
from tally.mesh.wire import decimal_to_wire, timestamp_to_wire
from tally.pricing_wire import discount_to_wire
from tally.pricing_wire import price_to_wire as engine_price_to_wire
from tally.quoting.domain import Quote, QuoteLine, QuoteTerms, ramp_lines
from tally.quoting.messages import CYCLES_TO_WIRE, money, prospect_to_wire
from tally.quoting.store import OutboxMessage

_log = logging.getLogger(__name__)


def _overrides(lines: tuple[QuoteLine, ...]) -> list[cat.PriceOverride]:
    overrides = []
    for line in lines:
        override = cat.PriceOverride(charge_id=line.charge_id)
        if line.price is not None:
            override.price.CopyFrom(engine_price_to_wire(line.price.price, meter_id=line.price.meter_id))
        if line.included_quantity is not None:
            override.included_quantity = decimal_to_wire(line.included_quantity)
        overrides.append(override)
    return overrides


def subscription_terms(quote_id: str, terms: QuoteTerms) -> cat.Subscription:
    """The subscription the accepted terms make, for catalog: every ramp a phase carrying the quote's lines
    with the ramp's in place, the quote's discounts and the ramp's, and the quote's minimum (the very terms
    ``tally.quoting.domain.terms.terms_at`` estimated)."""
    assert terms.start_at is not None and terms.billing_cycle is not None
    subscription = cat.Subscription(
        customer_id=terms.customer_id,
        plan_version_id=terms.plan_version_id,
        start_at=timestamp_to_wire(terms.start_at),
        billing_cycle=CYCLES_TO_WIRE[terms.billing_cycle],
        billing_anchor=cat.BILLING_ANCHOR_ANNIVERSARY if terms.anniversary else cat.BILLING_ANCHOR_CALENDAR,
        price_overrides=_overrides(terms.lines),
        discounts=[discount_to_wire(d) for d in terms.discounts],
        quote_id=quote_id,
    )
    if terms.end_at is not None:
        subscription.end_at.CopyFrom(timestamp_to_wire(terms.end_at))
    minimum = None if terms.minimum_commitment is None else money(terms.minimum_commitment, terms.currency)
    if minimum is not None:
        subscription.minimum_commitment.CopyFrom(minimum)
    for ramp in terms.ramps:
        start, end = terms.ramp_span(ramp)
        phase = subscription.phases.add(
            start_at=timestamp_to_wire(start),
            end_at=timestamp_to_wire(end),
            price_overrides=_overrides(ramp_lines(terms, ramp)),
            discounts=[discount_to_wire(d) for d in terms.discounts + ramp.discounts],
        )
        if minimum is not None:
            phase.minimum_commitment.CopyFrom(minimum)
    return subscription


def quote_accepted(quote: Quote) -> OutboxMessage:
    """QuoteAccepted for the accepted quote; its id names the quote, so a retried publish is one message."""
    assert quote.acceptance is not None
    terms = quote.terms
    event = events_pb2.QuoteAccepted(
        quote_id=quote.id,
        quote_version=quote.version,
        customer_id=terms.customer_id,
        accepted_at=timestamp_to_wire(quote.acceptance.accepted_at),
        quote_number=quote.number,
        subscription=subscription_terms(quote.id, terms),
    )
    if terms.prospect is not None:
        event.prospect.CopyFrom(prospect_to_wire(terms.prospect, terms.currency))
    if terms.prepaid_credit:
        event.prepaid_credit.CopyFrom(money(terms.prepaid_credit, terms.currency))
    return OutboxMessage(
        subject=streams.QUOTE_ACCEPTED, msg_id=f"quote-accepted:{quote.id}", payload=event.SerializeToString()
    )


SUBSCRIPTIONS_CONSUMER = ConsumerSpec(
    stream=streams.CATALOG.name, durable="quoting-subscriptions", filter_subject=streams.SUBSCRIPTION_CHANGED
)
"""SubscriptionChanged: a subscription made from one of our quotes tells the quote its id (once, inbox)."""

Bind = Callable[[str, str, str, str, str], Awaitable[bool]]
"""(consumer, msg id, quote id, subscription id, customer id) → whether a quote of ours took it."""


class SubscriptionChangedHandler:
    """Records on an accepted quote the subscription (and customer) catalog made from it, then acks."""

    def __init__(self, bind: Bind) -> None:
        self._bind = bind

    async def __call__(self, delivery: Delivery) -> None:
        changed = catalog_events.SubscriptionChanged.FromString(delivery.data)
        subscription = changed.subscription
        if not subscription.quote_id:
            return
        trace.get_current_span().set_attribute(attributes.CUSTOMER, subscription.customer_id)
        msg_id = delivery.msg_id or f"{streams.CATALOG.name}:{delivery.stream_sequence}"
        ours = await self._bind(
            SUBSCRIPTIONS_CONSUMER.durable,
            msg_id,
            subscription.quote_id,
            subscription.id,
            subscription.customer_id,
        )
        if ours:
            _log.info("quote %s: subscription %s", subscription.quote_id, subscription.id)
