"""Reading the anomalies found so far: by customer, meter, kind and time, newest first, in keyset pages."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from tally.insights.scanning import AnomalyRecord


@dataclass(frozen=True, slots=True)
class AnomalyFilter:
    customer: str | None = None
    meter_id: str | None = None
    kind: str | None = None
    start: datetime | None = None
    end: datetime | None = None


class AnomalyReader(Protocol):
    def anomalies(
        self,
        *,
        customer: str | None,
        meter_id: str | None,
        kind: str | None,
        overlapping: tuple[datetime | None, datetime | None],
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[AnomalyRecord]: ...


class AnomalyLog:
    def __init__(self, store: AnomalyReader) -> None:
        self._store = store

    async def list(
        self, where: AnomalyFilter, after: tuple[datetime, str] | None, limit: int
    ) -> list[AnomalyRecord]:
        return await asyncio.to_thread(
            self._store.anomalies,
            customer=where.customer,
            meter_id=where.meter_id,
            kind=where.kind,
            overlapping=(where.start, where.end),
            after=after,
            limit=limit,
        )
