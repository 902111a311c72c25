"""Quoting use cases: create a draft quote, find and list quotes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from opentelemetry import trace

from tally.domain.errors import InvalidArgument, NotFound
from tally.mesh import attributes
from tally.quoting.domain import Quote, QuoteInput, QuoteStatus, validate_quote
from tally.quoting.store import QuoteStore


def _now() -> datetime:
    return datetime.now(UTC)


class Quotes:
    """Draft quotes: validated, numbered gap-free when stored, then read back."""

    def __init__(
        self, store: QuoteStore, *, currency_field: str, clock: Callable[[], datetime] = _now
    ) -> None:
        self._store = store
        self._currency_field = currency_field
        self._clock = clock

    async def create(self, raw: QuoteInput) -> Quote:
        now = self._clock()
        terms = validate_quote(raw, now=now, currency_field=self._currency_field)
        quote_id = str(uuid.uuid4())

        def draft(number: str) -> Quote:
            return Quote(
                id=quote_id,
                number=number,
                status=QuoteStatus.DRAFT,
                version=1,
                terms=terms,
                created_at=now,
                updated_at=now,
            )

        quote = await asyncio.to_thread(self._store.create, draft)
        trace.get_current_span().set_attribute(attributes.CUSTOMER, terms.customer_id)
        return quote

    async def get(self, quote_id: str) -> Quote:
        if not quote_id:
            raise InvalidArgument.field("quote_id", "is required")
        quote = await asyncio.to_thread(self._store.get, quote_id)
        if quote is None:
            raise NotFound("quote", quote_id, field="quote_id")
        return quote

    async def list(
        self, *, customer_id: str | None, status: QuoteStatus | None, before_sequence: int | None, limit: int
    ) -> list[tuple[int, Quote]]:
        return await asyncio.to_thread(
            self._store.list,
            customer_id=customer_id,
            status=status,
            before_sequence=before_sequence,
            limit=limit,
        )
