"""The posting loop: takes due sync records per ERP, a bounded number at a time, and posts each document once:
customer first, a lookup by key first whenever an earlier attempt's outcome is unknown, retries with backoff."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
import logging
import random
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from opentelemetry import propagate, trace
from opentelemetry.trace import Link, SpanKind

from tally.domain.errors import InvalidArgument
from tally.erp_sync.adapters import ErpAdapter
from tally.erp_sync.documents import Document
from tally.erp_sync.domain import DocumentKind, Erp, SyncState
from tally.erp_sync.mapping import ErpMapping, MappingGap
from tally.erp_sync.messages import document_from_payload
from tally.erp_sync.ports import Mappings, PostingLedger
from tally.erp_sync.posting import Retryable, RetryPolicy, Transition, after_failure, posted
from tally.erp_sync.store import Claim
from tally.mesh import attributes, metrics, telemetry

_log = logging.getLogger(__name__)
_tracer = telemetry.tracer("tally.erp_sync.poster")
T = TypeVar("T")


def _now() -> datetime:
    return datetime.now(UTC)


def _report_crash(task: asyncio.Task[None]) -> None:
    # An attempt that could not even record its outcome leaves its record SENDING: taken again, with a lookup
    # first, once its lease runs out.
    if not task.cancelled() and task.exception() is not None:
        _log.error("a posting attempt failed to record its outcome", exc_info=task.exception())


class Poster:
    """Posts due records to every configured ERP until cancelled."""

    def __init__(
        self,
        ledger: PostingLedger,
        adapters: Mapping[Erp, ErpAdapter],
        mappings: Mappings,
        *,
        policy: RetryPolicy,
        concurrency: int,
        lease: timedelta,
        idle_s: float = 0.25,
        clock: Callable[[], datetime] = _now,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self._ledger = ledger
        self._adapters = adapters
        self._mappings = mappings
        self._policy = policy
        self._concurrency = concurrency
        self._lease = lease
        self._idle_s = idle_s
        self._clock = clock
        self._draw = draw
        self._wakes = {erp: asyncio.Event() for erp in adapters}
        # ERP calls block for up to their timeout: a pool of their own, so every ERP gets its full concurrency
        # (the loop's default executor has min(32, cores + 4) threads, shared with the database calls).
        self._pool = ThreadPoolExecutor(max(1, concurrency * len(adapters)), thread_name_prefix="erp-call")
        self._customer_locks: dict[tuple[Erp, str], asyncio.Lock] = {}

    def wake(self) -> None:
        """New or re-queued records: look for due work now rather than at the next idle tick."""
        for event in self._wakes.values():
            event.set()

    async def run(self) -> None:
        await asyncio.gather(*(self._run(erp) for erp in self._adapters))

    async def _run(self, erp: Erp) -> None:
        wake = self._wakes[erp]
        in_flight: set[asyncio.Task[None]] = set()
        try:
            while True:
                wake.clear()
                free = self._concurrency - len(in_flight)
                claims: list[Claim] = []
                if free > 0:
                    try:
                        claims = await asyncio.to_thread(
                            self._ledger.claim, erp, now=self._clock(), lease=self._lease, limit=free
                        )
                    except Exception:
                        _log.exception("%s: claiming due records failed", erp.value)
                for claim in claims:
                    task = asyncio.create_task(self.attempt(erp, claim))
                    task.add_done_callback(_report_crash)
                    in_flight.add(task)
                if claims and len(claims) == free:
                    _, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                    continue
                waker = asyncio.create_task(wake.wait())
                await asyncio.wait(
                    {*in_flight, waker}, timeout=self._idle_s, return_when=asyncio.FIRST_COMPLETED
                )
                waker.cancel()
                in_flight = {task for task in in_flight if not task.done()}
        finally:
            for task in in_flight:
                task.cancel()

    async def attempt(self, erp: Erp, claim: Claim) -> None:
        """One posting attempt of one claimed record, and its outcome written back."""
        record = claim.record
        parent = propagate.extract(json.loads(claim.document.trace_context or "{}"))
        finalized = trace.get_current_span(parent).get_span_context()
        links = [Link(finalized, {"tally.link": "document announced"})] if finalized.is_valid else []
        with _tracer.start_as_current_span(
            f"erp-sync post {record.document_kind.value.lower()} to {erp.value.lower()}",
            context=parent,
            kind=SpanKind.INTERNAL,
            links=links,
            attributes={
                attributes.ERP_SYSTEM: erp.value,
                attributes.DOCUMENT: record.document_id,
                attributes.ERP_KEY: record.erp_key,
                attributes.ERP_ATTEMPT: record.attempts,
            },
        ) as span:
            transition = await self._outcome(erp, claim)
            span.set_attribute(attributes.OUTCOME, transition.state.value)
            metrics.ERP_POSTINGS.add(
                1,
                {
                    attributes.ERP_SYSTEM: erp.value,
                    attributes.DOCUMENT: record.document_kind.value.lower(),
                    attributes.OUTCOME: transition.state.value.lower(),
                },
            )
            if transition.state is SyncState.FAILED:
                _log.warning("%s %s: FAILED: %s", erp.value, record.erp_key, transition.last_error)
            await asyncio.to_thread(self._ledger.finish, record.id, transition, now=self._clock())

    async def _outcome(self, erp: Erp, claim: Claim) -> Transition:
        record = claim.record
        adapter = self._adapters[erp]
        try:
            document = document_from_payload(record.document_kind, claim.document.payload)
            if document.credited_invoice_id:
                invoice = await asyncio.to_thread(
                    self._ledger.state, erp, DocumentKind.INVOICE, document.credited_invoice_id
                )
                if invoice in (SyncState.PENDING, SyncState.SENDING):
                    # Posted after its invoice, a credit note can name it (NetSuite's createdFrom).
                    raise Retryable(
                        f"waiting for invoice {document.credited_invoice_id} to be posted first",
                        maybe_applied=False,
                    )
            mapping = self._mappings.current(erp)
            mapping.currency_for(document.currency)  # an unmapped currency fails before anything is written
            internal_id = None
            if record.verify:
                internal_id = await self._erp_call(adapter.find, record.document_kind, record.erp_key)
            if internal_id is None:
                customer = await self._customer(erp, adapter, mapping, document)
                internal_id = await self._erp_call(adapter.post, document, customer, mapping)
            return posted(internal_id)
        except (MappingGap, InvalidArgument) as exc:
            return Transition(SyncState.FAILED, last_error=str(exc), verify=record.verify)
        except Exception as exc:
            return after_failure(
                exc,
                attempt=record.attempts,
                verify=record.verify,
                now=self._clock(),
                policy=self._policy,
                draw=self._draw,
            )

    async def _erp_call(self, call: Callable[..., T], *args: Any) -> T:
        """``call`` in the ERP pool, in this context (the current span stays the parent of its spans)."""
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, functools.partial(context.run, call, *args)
        )

    async def _customer(self, erp: Erp, adapter: ErpAdapter, mapping: ErpMapping, document: Document) -> str:
        """The ERP's reference of the document's customer, created before its first document, once."""
        lock = self._customer_locks.setdefault((erp, document.customer_id), asyncio.Lock())
        async with lock:
            known = await asyncio.to_thread(self._ledger.customer_reference, erp, document.customer_id)
            if known is not None:
                return known
            reference = await self._erp_call(adapter.ensure_customer, document, mapping)
            await asyncio.to_thread(
                self._ledger.save_customer, erp, document.customer_id, reference, now=self._clock()
            )
            return reference
