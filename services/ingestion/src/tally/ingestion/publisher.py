"""Publishing accepted events to JetStream: one message per batch and partition, answered only once stored.

A message's ``Nats-Msg-Id`` is ``<producer>/<batch_id>/<content digest>/<partition>/<chunk>``. The digest
covers the batch's accepted events and its backfill flag, so a retry of the same batch (same id, same events)
maps to the same messages, which JetStream drops inside its duplicate window, while a batch id reused for
other events maps to new messages and is stored in full. After the window a retry is stored again and
metering counts each (producer, event id) once, so a retry is exactly-once either way.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence

from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.errors import APIError

from tally.api.ingestion.v1 import events_pb2
from tally.domain.errors import Unavailable
from tally.mesh import jetstream, streams
from tally.mesh.vouching import VOUCHER_HEADER, UsageVoucher

MAX_MESSAGE_BYTES = 900 * 1024
"""Below the server's default 1 MiB maximum, leaving room for headers."""
RETRY_AFTER_S = 1.0
"""What RetryInfo tells a client to wait before retrying a batch whose storage was not confirmed."""


def content_digest(backfill: bool, events: Sequence[events_pb2.UsageEvent]) -> str:
    """Fingerprint of what a batch stores: its accepted events in order (properties in key order) and flag."""
    digest = hashlib.blake2b(digest_size=12)
    digest.update(b"B" if backfill else b"-")
    for event in events:
        body = event.SerializeToString(deterministic=True)
        digest.update(len(body).to_bytes(4, "big"))
        digest.update(body)
    return digest.hexdigest()


_STORE_FULL = {10077, 10047}
"""JetStream's "maximum bytes exceeded" (the USAGE stream is full) and "insufficient storage resources"."""


class BatchPublisher:
    """Stores accepted events durably: returns only after JetStream acknowledged every message."""

    def __init__(
        self,
        js: JetStreamContext,
        *,
        timeout_s: float,
        full_retry_s: float = 5.0,
        voucher: UsageVoucher | None = None,
    ) -> None:
        """``voucher`` signs each message, so metering can tell it came from ingestion."""
        self._js = js
        self._timeout_s = timeout_s
        self._full_retry_s = full_retry_s
        self._voucher = voucher

    async def publish(
        self,
        producer_id: str,
        batch_id: str,
        received_at_ms: int,
        backfill: bool,
        events: Sequence[events_pb2.UsageEvent],
    ) -> None:
        digest = content_digest(backfill, events)
        by_partition: dict[int, list[events_pb2.UsageEvent]] = {}
        for event in events:
            by_partition.setdefault(streams.usage_partition(event.customer), []).append(event)
        sends = []
        for partition, group in sorted(by_partition.items()):
            for chunk, payload in enumerate(_chunks(producer_id, batch_id, received_at_ms, backfill, group)):
                # Deterministic ids: a retried batch maps to the same messages, which JetStream drops.
                msg_id = f"{producer_id}/{batch_id}/{digest}/{partition}/{chunk}"
                subject = streams.usage_batch_subject(partition)
                headers = (
                    {VOUCHER_HEADER: self._voucher.sign(subject, msg_id, payload)} if self._voucher else None
                )
                sends.append(
                    jetstream.publish(
                        self._js, subject, payload, msg_id, headers=headers, timeout_s=self._timeout_s
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
                # Some or all messages may have been stored before the confirmation went missing: the outcome
                # is unknown, and only a retry of the very same batch is safe (it is then counted exactly once).
                raise Unavailable(
                    f"the event store did not confirm batch {batch_id!r} ({type(exc).__name__}): the outcome is "
                    "unknown, some or all of its events may be stored; retry with the same batch_id and the same "
                    "events (counted exactly once), never with new event ids",
                    retry_after_s=RETRY_AFTER_S,
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
