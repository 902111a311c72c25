"""Which event properties meters read as numbers, per event type: kept in memory, refreshed from the projection."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from tally.ingestion.domain import numeric_properties
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
