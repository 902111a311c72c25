"""Keeping the rejected-events log bounded: a periodic prune by age and by each producer's allowance."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from tally.ingestion.store import RejectedLog

_log = logging.getLogger(__name__)


class RejectedRetention:
    """Prunes the log every ``interval_s``; inserts prune their own producer meanwhile (store.py)."""

    def __init__(
        self,
        log: RejectedLog,
        *,
        interval_s: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._log = log
        self._interval_s = interval_s
        self._clock = clock

    async def prune(self) -> int:
        """One prune now; how many rejections were deleted."""
        return await asyncio.to_thread(self._log.prune, self._clock())

    async def prune_forever(self) -> None:
        """Prune at start, then every interval; a failed prune (the database away) is retried next time."""
        while True:
            try:
                deleted = await self.prune()
                if deleted:
                    _log.info(
                        "pruned %d rejected events past their retention or their producer's allowance",
                        deleted,
                    )
            except Exception:
                _log.warning(
                    "pruning rejected events failed; retrying in %.0f s", self._interval_s, exc_info=True
                )
            await asyncio.sleep(self._interval_s)
