"""Publishing accepted events to JetStream: one message per batch and partition, answered only once stored."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from nats.errors import Error as NatsError
from nats.js import JetStreamContext

from tally.api.ingestion.v1 import events_pb2
from tally.domain.errors import Unavailable
from tally.mesh import jetstream, streams
from tally.mesh.vouching import VOUCHER_HEADER, UsageVoucher

MAX_MESSAGE_BYTES = 900 * 1024
"""Below the server's default 1 MiB maximum, leaving room for headers."""


class BatchPublisher:
    """Stores accepted events durably: returns only after JetStream acknowledged every message."""

    def __init__(
        self, js: JetStreamContext, *, timeout_s: float, voucher: UsageVoucher | None = None
    ) -> None:
        """``voucher`` signs each message, so metering can tell it came from ingestion."""
        self._js = js
        self._timeout_s = timeout_s
        self._voucher = voucher

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
                subject = streams.usage_batch_subject(partition)
                headers = (
                    {VOUCHER_HEADER: self._voucher.sign(subject, msg_id, payload)} if self._voucher else None
                )
                sends.append(
                    jetstream.publish(
                        self._js, subject, payload, msg_id, headers=headers, timeout_s=self._timeout_s
                    )
                )
        try:
            await asyncio.gather(*sends)
        except (NatsError, TimeoutError) as exc:
            raise Unavailable(
                f"the event store did not confirm batch {batch_id!r} ({type(exc).__name__}): nothing is "
                "acknowledged; retry with the same batch_id (events already stored are not counted twice)"
            ) from exc


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
