"""Publishing accepted events to JetStream: one message per batch and partition, answered only once stored."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.errors import APIError

from tally.api.ingestion.v1 import events_pb2
from tally.domain.errors import Unavailable
from tally.mesh import jetstream, streams

MAX_MESSAGE_BYTES = 900 * 1024
"""Below the server's default 1 MiB maximum, leaving room for headers."""

_STORE_FULL = {10077, 10047}
"""JetStream's "maximum bytes exceeded" (the USAGE stream is full) and "insufficient storage resources"."""


class BatchPublisher:
    """Stores accepted events durably: returns only after JetStream acknowledged every message."""

    def __init__(self, js: JetStreamContext, *, timeout_s: float, full_retry_s: float = 5.0) -> None:
        self._js = js
        self._timeout_s = timeout_s
        self._full_retry_s = full_retry_s

    async def publish(
        self,
        producer_id: str,
        batch_id: str,
        received_at_ms: int,
        backfill: bool,
        events: Sequence[events_pb2.UsageEvent],
    ) -> None:
        by_partition: dict[int, list[events_pb2.UsageEvent]] = {}
        for event in events:
            by_partition.setdefault(streams.usage_partition(event.customer), []).append(event)
        sends = []
        for partition, group in sorted(by_partition.items()):
            for chunk, payload in enumerate(_chunks(producer_id, batch_id, received_at_ms, backfill, group)):
                # Deterministic ids: a retried batch maps to the same messages, which JetStream drops.
                msg_id = f"{producer_id}/{batch_id}/{partition}/{chunk}"
                sends.append(
                    jetstream.publish(
                        self._js,
                        streams.usage_batch_subject(partition),
                        payload,
                        msg_id,
                        timeout_s=self._timeout_s,
                    )
                )
        # Every send is awaited, even after one failed: none is left half-done when the answer goes out.
        results = await asyncio.gather(*sends, return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        for exc in failures:
            if isinstance(exc, APIError) and exc.err_code in _STORE_FULL:
                # Metering (or another consumer) is behind and the stream holds all it may: what it holds
                # stays, and this batch is accepted once consumers have freed room.
                raise Unavailable(
                    f"the event store is full (consumers are behind): batch {batch_id!r} is not acknowledged; "
                    f"retry it with the same batch_id in {self._full_retry_s:g}s",
                    retry_after_s=self._full_retry_s,
                ) from exc
        for exc in failures:
            if isinstance(exc, NatsError | TimeoutError):
                raise Unavailable(
                    f"the event store did not confirm batch {batch_id!r} ({type(exc).__name__}): nothing is "
                    "acknowledged; retry with the same batch_id (events already stored are not counted twice)",
                    retry_after_s=1.0,
                ) from exc
        for exc in failures:
            raise exc


def _chunks(
    producer_id: str,
    batch_id: str,
    received_at_ms: int,
    backfill: bool,
    events: Sequence[events_pb2.UsageEvent],
) -> list[bytes]:
    message = events_pb2.UsageBatchAccepted(
        batch_id=batch_id,
        producer_id=producer_id,
        received_at_ms=received_at_ms,
        backfill=backfill,
        events=events,
    )
    payload = message.SerializeToString()
    if len(payload) <= MAX_MESSAGE_BYTES or len(events) == 1:
        return [payload]
    middle = len(events) // 2
    return [
        *_chunks(producer_id, batch_id, received_at_ms, backfill, events[:middle]),
        *_chunks(producer_id, batch_id, received_at_ms, backfill, events[middle:]),
    ]
