"""Billing controls (invoice threshold, spend and usage alerts) and firing each alert once per period.

An alert fires when the open period's accrued spend (usage charges to date, before tax) or a charge's usage
reaches its threshold; the firing is remembered in ``alert_firings`` and its event enqueued in the outbox in
the same transaction, so it is published exactly once per subscription, alert and period.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Engine, delete, insert, select

from tally.api.catalog.v1 import catalog_service_pb2 as cat
from tally.api.common.v1 import money_pb2, period_pb2
from tally.api.invoicing.v1 import events_pb2
from tally.api.invoicing.v1 import invoicing_service_pb2 as pb
from tally.domain.errors import FieldViolation, InvalidArgument
from tally.invoicing.billing.drafting import Draft
from tally.invoicing.billing.store import Controls, controls_from_row
from tally.invoicing.tables import alert_firings, billing_controls
from tally.mesh import streams
from tally.mesh.wire import decimal_to_wire, timestamp_to_wire
from tally.money import parse_decimal
from tally.persistence import outbox
from tally.pricing import ChargeUsage, Period

ZERO = Decimal(0)


def _period(period: Period) -> period_pb2.Period:
    return period_pb2.Period(start=timestamp_to_wire(period.start), end=timestamp_to_wire(period.end))


def _quantity(usage: ChargeUsage | None) -> Decimal:
    if usage is None:
        return ZERO
    if isinstance(usage, Decimal):
        return usage
    if isinstance(usage, Mapping):
        return sum((_quantity(part) for part in usage.values()), ZERO)
    entries = getattr(usage, "entries", None)
    if entries is not None:
        return sum((entry.quantity for entry in entries), ZERO)
    return Decimal(len(getattr(usage, "values", ())))


def controls_from_wire(message: pb.BillingControls) -> Controls:
    """Validated controls: one currency, positive amounts, every field named on error."""
    problems: list[FieldViolation] = []
    if not message.subscription_id:
        problems.append(FieldViolation("controls.subscription_id", "is required"))
    currencies = set()

    def money(value: money_pb2.Money, field: str) -> Decimal:
        currencies.add(value.currency)
        try:
            amount = parse_decimal(value.amount, field=f"{field}.amount")
        except InvalidArgument as exc:
            problems.extend(exc.violations)
            return ZERO
        if amount <= 0:
            problems.append(FieldViolation(f"{field}.amount", f"must be > 0, got {value.amount}"))
        return amount

    threshold = (
        money(message.invoice_threshold, "controls.invoice_threshold")
        if message.HasField("invoice_threshold")
        else None
    )
    spend = tuple(money(value, f"controls.spend_alerts[{i}]") for i, value in enumerate(message.spend_alerts))
    usage = []
    for index, alert in enumerate(message.usage_alerts):
        at = f"controls.usage_alerts[{index}]"
        if not alert.charge_id:
            problems.append(FieldViolation(f"{at}.charge_id", "is required"))
        try:
            quantity = parse_decimal(alert.threshold, field=f"{at}.threshold")
            if quantity <= 0:
                problems.append(FieldViolation(f"{at}.threshold", f"must be > 0, got {alert.threshold}"))
            usage.append((alert.charge_id, quantity))
        except InvalidArgument as exc:
            problems.extend(exc.violations)
    if len(currencies) > 1:
        problems.append(
            FieldViolation("controls", f"every amount must be in one currency, got {sorted(currencies)}")
        )
    if problems:
        raise InvalidArgument(problems)
    return Controls(
        subscription_id=message.subscription_id,
        currency=next(iter(currencies), ""),
        invoice_threshold=threshold,
        spend_alerts=spend,
        usage_alerts=tuple(usage),
    )


def controls_to_wire(controls: Controls) -> pb.BillingControls:
    message = pb.BillingControls(
        subscription_id=controls.subscription_id,
        spend_alerts=[
            money_pb2.Money(amount=decimal_to_wire(v), currency=controls.currency)
            for v in controls.spend_alerts
        ],
        usage_alerts=[
            pb.UsageAlert(charge_id=charge, threshold=decimal_to_wire(quantity))
            for charge, quantity in controls.usage_alerts
        ],
    )
    if controls.invoice_threshold is not None:
        message.invoice_threshold.CopyFrom(
            money_pb2.Money(amount=decimal_to_wire(controls.invoice_threshold), currency=controls.currency)
        )
    return message


class AlertOutbox:
    """Stores billing controls and fires alerts exactly once per period."""

    def __init__(self, engine: Engine, wake_relay: Callable[[], None]) -> None:
        self._engine = engine
        self._wake_relay = wake_relay

    def set_controls(self, controls: Controls, now: datetime) -> Controls:
        with self._engine.begin() as conn:
            conn.execute(
                delete(billing_controls).where(billing_controls.c.subscription_id == controls.subscription_id)
            )
            conn.execute(
                insert(billing_controls).values(
                    subscription_id=controls.subscription_id,
                    currency=controls.currency,
                    invoice_threshold=None
                    if controls.invoice_threshold is None
                    else str(controls.invoice_threshold),
                    spend_alerts=json.dumps([str(v) for v in controls.spend_alerts]),
                    usage_alerts=json.dumps(
                        [
                            {"charge_id": charge, "threshold": str(quantity)}
                            for charge, quantity in controls.usage_alerts
                        ]
                    ),
                    updated_at=now,
                )
            )
        return controls

    def get_controls(self, subscription_id: str) -> Controls:
        with self._engine.connect() as conn:
            row = (
                conn.execute(
                    select(billing_controls).where(billing_controls.c.subscription_id == subscription_id)
                )
                .mappings()
                .first()
            )
        if row is None:
            return Controls(subscription_id, "", None, (), ())
        return controls_from_row(row)

    async def check(
        self,
        subscription: cat.Subscription,
        period: Period,
        controls: Controls,
        accrued: Draft,
        usage: Mapping[str, ChargeUsage],
        as_of: datetime,
    ) -> int:
        """Fires every alert crossed and not fired before in ``period``; returns how many fired now."""
        due: list[tuple[str, str, bytes]] = []
        spend = accrued.subtotal.amount
        for threshold in controls.spend_alerts:
            if spend >= threshold:
                event = events_pb2.SpendAlertTriggered(
                    customer_id=subscription.customer_id,
                    subscription_id=subscription.id,
                    threshold=money_pb2.Money(amount=decimal_to_wire(threshold), currency=accrued.currency),
                    spend=money_pb2.Money(amount=decimal_to_wire(spend), currency=accrued.currency),
                    period=_period(period),
                    triggered_at=timestamp_to_wire(as_of),
                )
                due.append((f"spend:{threshold}", "spend", event.SerializeToString()))
        for charge_id, threshold in controls.usage_alerts:
            quantity = _quantity(usage.get(charge_id))
            if quantity >= threshold:
                event_u = events_pb2.UsageAlertTriggered(
                    customer_id=subscription.customer_id,
                    subscription_id=subscription.id,
                    charge_id=charge_id,
                    threshold=decimal_to_wire(threshold),
                    quantity=decimal_to_wire(quantity),
                    period=_period(period),
                    triggered_at=timestamp_to_wire(as_of),
                )
                due.append((f"usage:{charge_id}:{threshold}", "usage", event_u.SerializeToString()))
        if not due:
            return 0
        fired = await asyncio.to_thread(self._fire, subscription.id, period, due, as_of)
        if fired:
            self._wake_relay()
        return fired

    def _fire(
        self, subscription_id: str, period: Period, due: list[tuple[str, str, bytes]], now: datetime
    ) -> int:
        fired = 0
        with self._engine.begin() as conn:
            for alert, kind, payload in due:
                seen = conn.execute(
                    select(alert_firings.c.alert).where(
                        alert_firings.c.subscription_id == subscription_id,
                        alert_firings.c.alert == alert,
                        alert_firings.c.period_start == period.start,
                    )
                ).first()
                if seen is not None:
                    continue
                conn.execute(
                    insert(alert_firings).values(
                        subscription_id=subscription_id, alert=alert, period_start=period.start, fired_at=now
                    )
                )
                msg_id = f"alert:{subscription_id}:{alert}:{period.start.isoformat()}"
                outbox.enqueue(
                    conn, streams.ALERT_TRIGGERED, payload, msg_id, headers={"Tally-Alert-Kind": kind}
                )
                fired += 1
        return fired
