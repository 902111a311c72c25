"""Ingestion use cases: accept a batch (validate, log rejections, publish durably), list rejections, and
administer producers and their API keys."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from opentelemetry import trace

from tally.api.ingestion.v1 import events_pb2
from tally.domain.errors import InvalidArgument
from tally.ingestion.domain import (
    MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
    KeyRow,
    ProducerRecord,
    RejectedFilter,
    RejectedRecord,
    Rejection,
    ValidationPolicy,
    key_scopes,
    nfc_customer,
    rejections_producer,
    validate_batch,
    validate_producer_name,
)
from tally.ingestion.producer_keys import ProducerKeyVerifier, caller_producer, producer_principal
from tally.ingestion.publisher import BatchPublisher
from tally.ingestion.rate_limits import ProducerRateLimits
from tally.ingestion.rejection_buffer import BufferedRejections
from tally.ingestion.store import ProducerStore, RejectedLog
from tally.ingestion.value_properties import ValuePropertyIndex
from tally.mesh import attributes
from tally.mesh.auth import generate_key


@dataclass(frozen=True)
class BatchOutcome:
    """What happened to one batch: how many events were accepted (durably) and which were rejected."""

    batch_id: str
    accepted: int
    rejected: list[Rejection]


def _nfc(event: events_pb2.UsageEvent) -> events_pb2.UsageEvent:
    """The event with its customer id in Unicode NFC: "é" typed precomposed or as e + accent is one customer
    (partition, rollups and invoices key on the id's exact text)."""
    customer = nfc_customer(event.customer)
    if customer == event.customer:
        return event
    normalised = events_pb2.UsageEvent()
    normalised.CopyFrom(event)
    normalised.customer = customer
    return normalised


def _payload(event: events_pb2.UsageEvent) -> dict[str, object]:
    return {
        "event_id": event.event_id,
        "customer": event.customer,
        "event_type": event.event_type,
        "timestamp_ms": event.timestamp_ms,
        "properties": dict(event.properties),
    }


class Ingestor:
    """Accepts usage batches: the good events of a batch are stored even when some of its events are bad."""

    def __init__(
        self,
        log: RejectedLog | BufferedRejections,
        publisher: BatchPublisher,
        values: ValuePropertyIndex,
        *,
        backfill_horizon_hours: float,
        limits: ProducerRateLimits | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``backfill_horizon_hours``: how old an event may be in a batch not marked backfill; ``limits``: each
        producer's rate limits (None: unlimited, for tests of other rules)."""
        self._log = log
        self._limits = limits
        self._monotonic = monotonic
        self._publisher = publisher
        self._values = values
        self._horizon_ms = int(backfill_horizon_hours * 3600 * 1000)
        self._clock = clock

    async def ingest(
        self,
        producer_id: str,
        batch_id: str,
        events: list[events_pb2.UsageEvent],
        *,
        backfill: bool,
        size_bytes: int,
    ) -> BatchOutcome:
        if len(events) > MAX_BATCH_EVENTS:
            raise InvalidArgument.field(
                "events", f"at most {MAX_BATCH_EVENTS} events per batch, got {len(events)}"
            )
        if size_bytes > MAX_BATCH_BYTES:
            raise InvalidArgument.field("events", f"a batch is at most 4 MiB, got {size_bytes} bytes")
        if len(batch_id) > 255:
            raise InvalidArgument.field("batch_id", "must be at most 255 characters")
        if "\x00" in batch_id:
            raise InvalidArgument.field("batch_id", "must not contain NUL (U+0000) characters")
        if self._limits is not None:
            # Before anything of the batch is looked at or stored: a refused batch leaves no trace.
            self._limits.admit(producer_id, len(events), self._monotonic())
        batch_id = batch_id or str(uuid.uuid4())
        now_ms = int(self._clock() * 1000)
        policy = ValidationPolicy(
            now_ms=now_ms,
            backfill_horizon_ms=self._horizon_ms,
            backfill=backfill,
            numeric_properties=self._values.current,
        )
        verdict = validate_batch([_nfc(event) for event in events], policy)
        span = trace.get_current_span()
        span.set_attributes(
            {
                attributes.PRODUCER: producer_id,
                attributes.BATCH_ID: batch_id,
                attributes.BATCH_SIZE: len(events),
                attributes.BATCH_ACCEPTED: verdict.accepted_count,
                attributes.BATCH_REJECTED: len(verdict.rejected),
            }
        )
        if verdict.rejected:
            received_at = datetime.fromtimestamp(now_ms / 1000, UTC)
            logged = [(rejection, _payload(event)) for rejection, event in verdict.rejected]
            await asyncio.to_thread(self._log.record, producer_id, batch_id, received_at, logged)
        if verdict.accepted:
            await self._publisher.publish(producer_id, batch_id, now_ms, backfill, verdict.accepted)
        return BatchOutcome(
            batch_id, verdict.accepted_count, [rejection for rejection, _ in verdict.rejected]
        )

    async def list_rejected(
        self, caller: str, where: RejectedFilter, *, after_id: int | None, limit: int
    ) -> list[RejectedRecord]:
        """Rejections ``caller`` (a principal name) may see: a producer key only its own producer's, whose
        payloads may carry its customers' data; an operator or service key any producer's."""
        where = replace(where, producer_id=rejections_producer(caller_producer(caller), where.producer_id))
        return await asyncio.to_thread(self._log.list, where, after_id=after_id, limit=limit)


@dataclass(frozen=True)
class IssuedKey:
    """A new API key: the plaintext, shown once, and what is stored about it."""

    plaintext: str
    key: KeyRow


class ProducerAdmin:
    """Registers producers and issues, lists and revokes their API keys."""

    def __init__(
        self,
        store: ProducerStore,
        verifier: ProducerKeyVerifier,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._verifier = verifier
        self._clock = clock

    async def create_producer(self, name: str, description: str) -> ProducerRecord:
        producer = ProducerRecord(
            id=str(uuid.uuid4()),
            name=validate_producer_name(name),
            description=description,
            created_at=self._clock(),
            disabled=False,
        )
        return await asyncio.to_thread(self._store.create_producer, producer)

    async def list_producers(self, *, after_name: str | None, limit: int) -> list[ProducerRecord]:
        return await asyncio.to_thread(self._store.list_producers, after_name=after_name, limit=limit)

    async def create_key(
        self, producer_id: str, name: str, scopes: Iterable[str], expires_at: datetime | None
    ) -> IssuedKey:
        if not producer_id:
            raise InvalidArgument.field("producer_id", "is required")
        granted = key_scopes(scopes)
        now = self._clock()
        if expires_at is not None and expires_at <= now:
            raise InvalidArgument.field("expires_at", "must be in the future")
        plaintext, record = generate_key(producer_principal(producer_id), granted)
        key = KeyRow(
            key_id=record.key_id,
            producer_id=producer_id,
            name=name,
            secret_sha256=record.secret_sha256,
            scopes=granted,
            created_at=now,
            expires_at=expires_at,
            revoked_at=None,
        )
        return IssuedKey(plaintext, await asyncio.to_thread(self._store.add_key, key))

    async def list_keys(
        self, producer_id: str, *, include_revoked: bool, after_key_id: str | None, limit: int
    ) -> list[KeyRow]:
        if not producer_id:
            raise InvalidArgument.field("producer_id", "is required")
        return await asyncio.to_thread(
            self._store.list_keys,
            producer_id,
            include_revoked=include_revoked,
            after_key_id=after_key_id,
            limit=limit,
        )

    async def revoke_key(self, key_id: str) -> KeyRow:
        if not key_id:
            raise InvalidArgument.field("api_key_id", "is required")
        key = await asyncio.to_thread(self._store.revoke_key, key_id, self._clock())
        self._verifier.forget(key_id)
        return key
