"""Reconcile: Tally's documents of a period against what an ERP holds under their keys."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal

from tally.domain.errors import FailedPrecondition, InvalidArgument
from tally.erp_sync.adapters import ErpAdapter
from tally.erp_sync.domain import Erp, erp_key
from tally.erp_sync.ports import IssuedDocuments, Mappings
from tally.erp_sync.reconciliation import BookedDocument, Mismatch, reconcile
from tally.money import Money

_ONE_DAY = timedelta(days=1)


class Reconciler:
    def __init__(
        self, documents: IssuedDocuments, adapters: Mapping[Erp, ErpAdapter], mappings: Mappings | None
    ) -> None:
        self._documents = documents
        self._adapters = adapters
        self._mappings = mappings

    async def reconcile(
        self, erp: Erp | None, start: datetime | None, end: datetime | None
    ) -> tuple[int, list[Mismatch]]:
        """(documents compared, mismatches) for documents issued in [start, end): ERP documents are matched
        by their dates, the UTC days the period touches."""
        if erp is None:
            raise InvalidArgument.field("erp", "is required")
        if start is None or end is None:
            raise InvalidArgument.field("period", "needs a start and an end")
        if end <= start:
            raise InvalidArgument.field("period.end", "must be after period.start")
        adapter = self._adapters.get(erp)
        if adapter is None or self._mappings is None:
            raise FailedPrecondition(f"{erp.value.lower()} is not configured for posting in this erp-sync")
        mapping = self._mappings.current(erp)
        issued = await asyncio.to_thread(self._documents.documents_issued, start, end)
        tally = [
            BookedDocument(
                d.kind, erp_key(d.kind, d.id), Money(Decimal(d.receivable), d.currency), d.id, d.number
            )
            for d in issued
        ]
        last_day = (end - timedelta(microseconds=1)).date()
        booked = await asyncio.to_thread(adapter.documents, start.date(), last_day + _ONE_DAY, mapping)
        return len(tally), reconcile(tally, booked)
