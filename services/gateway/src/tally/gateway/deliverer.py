"""Sends due webhook deliveries: signs each attempt, posts it, logs the answer, schedules the retry."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx

from tally.api.gateway.v1 import events_pb2
from tally.gateway.domain.webhooks import RetryPolicy, signed_headers
from tally.gateway.webhook_store import DueDelivery, Endpoint, Outcome, WebhookStore
from tally.mesh.wire import timestamp_to_wire

_log = logging.getLogger(__name__)

IDLE_WAIT_S = 5.0
"""Longest sleep with nothing due: new messages wake the loop at once, this only bounds clock drift."""
MAX_ERROR_CHARS = 300


class Deliverer:
    """One loop per replica; deliveries are leased, so replicas never send the same attempt twice."""

    def __init__(
        self,
        store: WebhookStore,
        client: httpx.AsyncClient,
        policy: RetryPolicy,
        *,
        concurrency: int,
        timeout_s: float,
        wake_relay: Callable[[], None],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._client = client
        self._policy = policy
        self._concurrency = concurrency
        self._timeout_s = timeout_s
        self._wake_relay = wake_relay
        self._clock = clock
        self._wakeup = asyncio.Event()

    def wake(self) -> None:
        """Something may be due now (a new message, a replay, an endpoint enabled)."""
        self._wakeup.set()

    async def run_forever(self) -> None:
        while True:
            try:
                if not await self.deliver_due():
                    await self._sleep_until_due()
            except Exception:
                _log.exception("webhook delivery round failed; retrying")
                await asyncio.sleep(1.0)

    async def _sleep_until_due(self) -> None:
        next_at = await asyncio.to_thread(self._store.next_due_at)
        wait = IDLE_WAIT_S
        if next_at is not None:
            wait = min(wait, max(0.0, (next_at - self._clock()).total_seconds()))
        self._wakeup.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout=wait)

    async def deliver_due(self) -> int:
        """One round: lease what is due and attempt it; returns how many attempts were made."""
        lease = timedelta(seconds=self._timeout_s * 3)
        due = await asyncio.to_thread(self._store.lease_due, self._clock(), self._concurrency, lease)
        await asyncio.gather(*(self._attempt(delivery) for delivery in due))
        return len(due)

    async def _attempt(self, due: DueDelivery) -> None:
        sent_at = self._clock()
        headers = signed_headers(due.secret, due.message_id, sent_at, due.body)
        started = time.monotonic()
        status: int | None = None
        error = ""
        try:
            reply = await self._client.post(
                due.url, content=due.body, headers=headers, timeout=self._timeout_s
            )
            status = reply.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS] or type(exc).__name__
        outcome = Outcome(status, error, int((time.monotonic() - started) * 1000))
        disabled = await asyncio.to_thread(
            self._store.record_attempt, due, outcome, self._policy, self._clock(), _disabled_event
        )
        if disabled is not None:
            _log.error(
                "webhook endpoint %s (%s) disabled: %d failed attempts in a row, last %s",
                disabled.endpoint.id,
                disabled.endpoint.url,
                disabled.endpoint.consecutive_failures,
                disabled.last_error,
            )
            self._wake_relay()


def _disabled_event(endpoint: Endpoint, last_error: str, now: datetime) -> bytes:
    return events_pb2.WebhookEndpointDisabled(
        endpoint_id=endpoint.id,
        url=endpoint.url,
        customer_id=endpoint.customer_id or "",
        consecutive_failures=endpoint.consecutive_failures,
        last_error=last_error,
        disabled_at=timestamp_to_wire(now),
    ).SerializeToString()
