"""erp-sync use cases: queue each finalized invoice and issued credit note for every enabled ERP; report."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from opentelemetry import trace

from tally.domain.errors import InvalidArgument, NotFound
from tally.erp_sync.domain import DocumentKind, Erp, SyncRecord, pending_records
from tally.erp_sync.messages import finalized_invoice_id, issued_credit_note_id
from tally.erp_sync.store import SyncFilter, SyncKey, SyncLedger
from tally.mesh import attributes
from tally.mesh.jetstream import Delivery

_log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


class SyncQueue:
    """Adds PENDING ledger rows for new documents: one per enabled ERP, once per document."""

    def __init__(
        self, ledger: SyncLedger, targets: tuple[Erp, ...], *, clock: Callable[[], datetime] = _now
    ) -> None:
        self._ledger = ledger
        self._targets = targets
        self._clock = clock

    def handler(self, consumer: str, kind: DocumentKind) -> Callable[[Delivery], Awaitable[None]]:
        """The message handler of ``consumer``, which delivers documents of ``kind``."""
        document_id = finalized_invoice_id if kind is DocumentKind.INVOICE else issued_credit_note_id

        async def handle(delivery: Delivery) -> None:
            await self.enqueue(consumer, delivery, kind, document_id(delivery.data))

        return handle

    async def enqueue(self, consumer: str, delivery: Delivery, kind: DocumentKind, document_id: str) -> None:
        records = pending_records(
            kind,
            document_id,
            self._targets,
            now=self._clock(),
            ids=[str(uuid.uuid4()) for _ in self._targets],
        )
        # Without a publisher id the stream position still identifies a redelivery of the same message.
        msg_id = delivery.msg_id or f"stream-seq:{delivery.stream_sequence}"
        added = await asyncio.to_thread(self._ledger.add_pending, consumer, msg_id, records)
        if kind is DocumentKind.INVOICE:
            trace.get_current_span().set_attribute(attributes.INVOICE, document_id)
        _log.info("%s %s: %d of %d sync records new", kind.value.lower(), document_id, added, len(records))


class SyncReports:
    """Reads the sync ledger."""

    def __init__(self, ledger: SyncLedger) -> None:
        self._ledger = ledger

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
