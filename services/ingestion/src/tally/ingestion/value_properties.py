"""Which event properties meters read as numbers, per event type: kept in memory, refreshed from the projection
of metering's meters, which this module keeps up to date from their changes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from tally.ingestion.domain import MeterView, numeric_properties
from tally.ingestion.store import MeterProjection

_log = logging.getLogger(__name__)


class ValuePropertyIndex:
    """Event type → value properties that must be decimals; read per batch, never per event from the database.

    Reloaded from ``meter_projection`` right after this replica applies a MeterChanged, and every
    ``refresh_s`` seconds so replicas whose consumer did not receive the change catch up.
    """

    def __init__(self, projection: MeterProjection, *, refresh_s: float) -> None:
        self._projection = projection
        self._refresh_s = refresh_s
        self.current: Mapping[str, tuple[str, ...]] = {}

    async def apply(
        self, msg_id: str, meter: MeterView, key: str, *, deleted: bool, changed_at_ms: int
    ) -> bool:
        """Apply one meter change to the projection (once per message; never an older definition over a newer
        one), then reload the map; False when the message was already applied."""
        applied = await asyncio.to_thread(
            self._projection.apply, msg_id, meter, key, deleted=deleted, changed_at_ms=changed_at_ms
        )
        if applied:
            await self.reload()
        return applied

    async def reload(self) -> None:
        meters = await asyncio.to_thread(self._projection.live_meters)
        # Replaced whole, never mutated: a batch being validated keeps the map it started with.
        self.current = numeric_properties(meters)

    async def refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_s)
            try:
                await self.reload()
            except Exception:
                _log.exception("reloading meter value properties failed; keeping the previous map")
