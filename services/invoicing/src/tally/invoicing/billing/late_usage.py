"""UsageLate: usage that changed after its period was invoiced, kept once per message until the customer's next
invoice corrects it (``BillingRun`` turns it into adjustment lines)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from opentelemetry import trace

from tally.invoicing.billing.ports import BillingTransaction
from tally.invoicing.billing.usage import LateUsage
from tally.invoicing.ports import Transactions

_log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


class LateUsageRecorder:
    """Keeps each UsageLate once (by message id)."""

    def __init__(
        self, transactions: Transactions[BillingTransaction], *, clock: Callable[[], datetime] = _now
    ) -> None:
        self._transactions = transactions
        self._clock = clock

    async def record(self, late: LateUsage, *, cause: str, detected_at: datetime | None) -> bool:
        """Keeps ``late`` (detected now when metering did not say); False for a message kept before."""

        def keep() -> bool:
            with self._transactions.begin() as tx:
                fresh = tx.late_usage.add(late, cause=cause, detected_at=detected_at or self._clock())
                tx.commit()
                return fresh

        fresh = await asyncio.to_thread(keep)
        trace.get_current_span().set_attribute("tally.late_usage.fresh", fresh)
        _log.info(
            "late usage for %s (%d events, %s): %s",
            late.customer,
            len(late.event_ids),
            cause,
            "kept" if fresh else "repeat",
        )
        return fresh
