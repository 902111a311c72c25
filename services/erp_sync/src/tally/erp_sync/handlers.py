"""erp-sync use cases: queue each finalized invoice and issued credit note for every enabled ERP; report the
ledger; retry a failed posting."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from opentelemetry import trace

from tally.domain.errors import InvalidArgument, NotFound
from tally.erp_sync.domain import DocumentKind, Erp, SyncRecord, SyncState, pending_records
from tally.erp_sync.mapping import MappingError
from tally.erp_sync.mapping_file import MappingFile
from tally.erp_sync.messages import stored_document
from tally.erp_sync.payment_book import PaymentBook
from tally.erp_sync.store import SyncFilter, SyncKey, SyncLedger
from tally.mesh import attributes
from tally.mesh.jetstream import Delivery

_log = logging.getLogger(__name__)

Counts = list[tuple[Erp, SyncState, int, int]]
PaymentCounts = list[tuple[Erp, int]]


def _now() -> datetime:
    return datetime.now(UTC)


class SyncQueue:
    """Keeps each new document and adds its PENDING ledger rows: one per enabled ERP, once per document."""

    def __init__(
        self,
        ledger: SyncLedger,
        targets: tuple[Erp, ...],
        *,
        on_queued: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._ledger = ledger
        self._targets = targets
        self._on_queued = on_queued
        self._clock = clock

    def handler(self, consumer: str, kind: DocumentKind) -> Callable[[Delivery], Awaitable[None]]:
        """The message handler of ``consumer``, which delivers documents of ``kind``."""

        async def handle(delivery: Delivery) -> None:
            await self.enqueue(consumer, delivery, kind)

        return handle

    async def enqueue(self, consumer: str, delivery: Delivery, kind: DocumentKind) -> None:
        document = stored_document(kind, delivery.data, delivery.headers)
        now = self._clock()
        records = pending_records(
            kind, document.id, self._targets, now=now, ids=[str(uuid.uuid4()) for _ in self._targets]
        )
        # Without a publisher id the stream position still identifies a redelivery of the same message.
        msg_id = delivery.msg_id or f"stream-seq:{delivery.stream_sequence}"
        added = await asyncio.to_thread(
            self._ledger.add_pending, consumer, msg_id, document, records, now=now
        )
        span = trace.get_current_span()
        span.set_attribute(attributes.DOCUMENT, document.id)
        if kind is DocumentKind.INVOICE:
            span.set_attribute(attributes.INVOICE, document.id)
        _log.info("%s %s: %d of %d sync records new", kind.value.lower(), document.id, added, len(records))
        if added:
            self._on_queued()


class SyncReports:
    """Reads the sync ledger."""

    def __init__(
        self, ledger: SyncLedger, payments: PaymentBook, targets: tuple[Erp, ...], configured: tuple[Erp, ...]
    ) -> None:
        self._ledger = ledger
        self._payments = payments
        self._targets = targets
        self.unconfigured = tuple(erp for erp in targets if erp not in configured)
        """Enabled ERPs without connection settings: queued for, not posted to."""

    async def status(self, kind: DocumentKind | None, document_id: str) -> list[SyncRecord]:
        if kind is None:
            raise InvalidArgument.field("document_kind", "is required")
        if not document_id:
            raise InvalidArgument.field("document_id", "is required")
        records = await asyncio.to_thread(self._ledger.for_document, kind, document_id)
        if not records:
            raise NotFound(kind.value.lower().replace("_", " "), document_id, field="document_id")
        return records

    async def list(self, where: SyncFilter, *, after: SyncKey | None, limit: int) -> list[SyncRecord]:
        return await asyncio.to_thread(self._ledger.list, where, after=after, limit=limit)

    async def summary(self) -> tuple[Counts, PaymentCounts]:
        counts = await asyncio.to_thread(self._ledger.counts)
        payments = [(erp, await asyncio.to_thread(self._payments.count, erp)) for erp in self._targets]
        return counts, payments


class SyncRetry:
    """RetrySync: reads the mapping file again (a fix takes effect at once), then re-queues a FAILED record."""

    def __init__(
        self,
        ledger: SyncLedger,
        mappings: MappingFile | None,
        *,
        on_queued: Callable[[], None] = lambda: None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._ledger = ledger
        self._mappings = mappings
        self._on_queued = on_queued
        self._clock = clock

    async def retry(self, record_id: str) -> SyncRecord:
        if not record_id:
            raise InvalidArgument.field("sync_record_id", "is required")
        if self._mappings is not None:
            try:
                await asyncio.to_thread(self._mappings.reload)
            except MappingError as exc:
                raise InvalidArgument.field("sync_record_id", f"not retried: {exc}") from None
        record = await asyncio.to_thread(self._ledger.retry, record_id, now=self._clock())
        self._on_queued()
        return record
