"""Billing controls use cases: set and read a subscription's invoice threshold and alerts, and fire each alert an
open period reached once per period, its event in the outbox in the same transaction as the firing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from tally.domain.errors import InvalidArgument
from tally.invoicing.billing.alerts import Alert, Controls
from tally.invoicing.billing.ports import BillingTransaction
from tally.invoicing.domain import OutboxMessage
from tally.invoicing.ports import Transactions, read


def _now() -> datetime:
    return datetime.now(UTC)


def fire_alerts(
    transactions: Transactions[BillingTransaction],
    alerts: Sequence[Alert],
    alerted: Callable[[Alert], OutboxMessage],
) -> int:
    """Fires each alert not fired before in its period; returns how many fired now."""
    fired = 0
    with transactions.begin() as tx:
        for alert in alerts:
            if tx.alert_firings.fire_once(
                alert.subscription_id, alert.key, alert.period.start, at=alert.triggered_at
            ):
                tx.outbox.add(alerted(alert))
                fired += 1
        tx.commit()
    return fired


class BillingControls:
    """Stores and reads billing controls (validated on the way in by the RPC layer)."""

    def __init__(
        self,
        transactions: Transactions[BillingTransaction],
        *,
        changed: Callable[[], None] | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._transactions = transactions
        self._changed = changed
        self._clock = clock

    async def set(self, controls: Controls) -> Controls:
        def write() -> None:
            with self._transactions.begin() as tx:
                tx.controls.put(controls, now=self._clock())
                tx.commit()

        await asyncio.to_thread(write)
        if self._changed is not None:
            self._changed()
        return controls

    async def get(self, subscription_id: str) -> Controls:
        """The subscription's controls; none set reads as no threshold and no alerts."""
        if not subscription_id:
            raise InvalidArgument.field("subscription_id", "is required")
        found = await read(self._transactions, lambda tx: tx.controls.get(subscription_id))
        return found if found is not None else Controls(subscription_id, "", None, (), ())
