"""Billing controls use cases: set and read a subscription's invoice threshold and alerts, and fire each alert an
open period reaches once per period, its event in the outbox in the same transaction as the firing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from tally.domain.errors import InvalidArgument
from tally.invoicing.billing.alerts import Alert, Controls, reached
from tally.invoicing.billing.ports import BillingTransaction
from tally.invoicing.domain import OutboxMessage
from tally.invoicing.ports import Transactions
from tally.money import Money
from tally.pricing import ChargeUsage, Period


def _now() -> datetime:
    return datetime.now(UTC)


def fire_alerts(
    transactions: Transactions[BillingTransaction],
    controls: Controls,
    alerted: Callable[[Alert], OutboxMessage],
    *,
    subscription_id: str,
    customer_id: str,
    period: Period,
    spend: Money,
    usage: Mapping[str, ChargeUsage],
    at: datetime,
) -> int:
    """Fires every alert reached and not fired before in ``period``; returns how many fired now."""
    due = reached(
        controls,
        subscription_id=subscription_id,
        customer_id=customer_id,
        period=period,
        spend=spend,
        usage=usage,
        at=at,
    )
    if not due:
        return 0
    fired = 0
    with transactions.begin() as tx:
        for alert in due:
            if tx.alert_firings.fire_once(subscription_id, alert.key, period.start, at=at):
                tx.outbox.add(alerted(alert))
                fired += 1
        tx.commit()
    return fired


class BillingControls:
    """Stores and reads billing controls (validated on the way in by the RPC layer)."""

    def __init__(
        self, transactions: Transactions[BillingTransaction], *, clock: Callable[[], datetime] = _now
    ) -> None:
        self._transactions = transactions
        self._clock = clock

    async def set(self, controls: Controls) -> Controls:
        def write() -> None:
            with self._transactions.begin() as tx:
                tx.controls.put(controls, now=self._clock())
                tx.commit()

        await asyncio.to_thread(write)
        return controls

    async def get(self, subscription_id: str) -> Controls:
        """The subscription's controls; none set reads as no threshold and no alerts."""
        if not subscription_id:
            raise InvalidArgument.field("subscription_id", "is required")

        def read() -> Controls | None:
            with self._transactions.begin() as tx:
                return tx.controls.get(subscription_id)

        found = await asyncio.to_thread(read)
        return found if found is not None else Controls(subscription_id, "", None, (), ())
