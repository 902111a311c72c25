"""Rejected events held in memory while ingestion's database is away, written once it answers again.

Recording a rejection must not make Ingest fail: the caller already gets every rejection in the response,
and the good events of the batch are what must reach the stream. So while the database is unreachable the
rejections wait here (bounded), and a background task writes them when it is back.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tally.ingestion.domain import RejectedFilter, RejectedRecord, Rejection
from tally.ingestion.store import RejectedLog
from tally.persistence.transient import database_outage

_log = logging.getLogger(__name__)

Logged = Sequence[tuple[Rejection, dict[str, object]]]


@dataclass(frozen=True, slots=True)
class _Pending:
    producer_id: str
    batch_id: str
    received_at: datetime
    rejected: Logged


class BufferedRejections:
    """The rejected-events log, with writes that wait out a database outage in a bounded buffer."""

    def __init__(self, log: RejectedLog, *, capacity: int, flush_interval_s: float = 1.0) -> None:
        self._log = log
        self._capacity = capacity
        self._flush_interval_s = flush_interval_s
        self._pending: deque[_Pending] = deque()
        self._held = 0
        self._dropped = 0
        self._lock = threading.Lock()

    @property
    def held(self) -> int:
        """Rejected events waiting for the database."""
        return self._held

    @property
    def dropped(self) -> int:
        """Rejected events not kept because the buffer was full (logged, and named in their Ingest response)."""
        return self._dropped

    def record(self, producer_id: str, batch_id: str, received_at: datetime, rejected: Logged) -> None:
        """Write now, or hold the rejections when the database is away (earlier held ones go first)."""
        pending = _Pending(producer_id, batch_id, received_at, rejected)
        if not self._pending:
            try:
                self._log.record(producer_id, batch_id, received_at, rejected)
                return
            except Exception as exc:
                outage = database_outage(exc)
                if outage is None:
                    raise
                _log.warning("holding rejected events in memory until the database is back: %s", outage)
        self._hold(pending)

    def _hold(self, pending: _Pending) -> None:
        with self._lock:
            if self._held + len(pending.rejected) > self._capacity:
                self._dropped += len(pending.rejected)
                _log.error(
                    "rejection buffer full (%d events): not keeping the %d rejected events of batch %s from %s",
                    self._capacity,
                    len(pending.rejected),
                    pending.batch_id,
                    pending.producer_id,
                )
                return
            self._pending.append(pending)
            self._held += len(pending.rejected)

    def flush(self) -> int:
        """Write held rejections in arrival order until done or the database fails again; returns how many."""
        written = 0
        while True:
            with self._lock:
                if not self._pending:
                    return written
                pending = self._pending[0]
            # A batch recorded twice (a retry) is written once: the log ignores a repeated (batch, index).
            try:
                self._log.record(pending.producer_id, pending.batch_id, pending.received_at, pending.rejected)
            except Exception as exc:
                if database_outage(exc) is not None:
                    raise
                _log.exception("dropping held rejected events of batch %s the log refuses", pending.batch_id)
            with self._lock:
                self._pending.popleft()
                self._held -= len(pending.rejected)
            written += len(pending.rejected)

    async def flush_forever(self) -> None:
        """Background task: write held rejections as soon as the database takes them."""
        while True:
            await asyncio.sleep(self._flush_interval_s)
            if not self._pending:
                continue
            try:
                written = await asyncio.to_thread(self.flush)
            except Exception as exc:
                _log.debug("rejection buffer still waiting for the database: %s", exc)
                continue
            _log.info("wrote %d held rejected events to the database", written)

    def list(self, where: RejectedFilter, *, after_id: int | None, limit: int) -> list[RejectedRecord]:
        return self._log.list(where, after_id=after_id, limit=limit)
