"""Billing runs: every subscription's ended periods drafted, and finalized once the grace is over.

For each subscription, from the end of its last REGULAR invoice (or its start):
- an OPENING invoice at the start bills the first period's in-advance fees (only if the plan has any);
- each period that ended by ``as_of`` is drafted (arrears fees, usage, included usage, minimum, maximum,
  discounts, the next period's in-advance fees, threshold invoices netted, corrections of finalized
  invoices whose usage changed since, tax, credits); while ``as_of`` is within the grace after the period end
  the draft is re-rated on every run, after it the invoice is finalized;
- the open period is checked against the subscription's invoice threshold (an early THRESHOLD invoice) and
  its spend and usage alerts.
A subscription that fails is reported and retried on the next run; the others go on.

``Billing`` lives as long as the process and lets one run at a time; each run is a ``BillingRun``, which holds
what that run read up front and coalesces its subscriptions' reads and writes.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from tally.domain.errors import DomainError
from tally.invoicing.billing.alerts import Alert, Controls, accrued, reached
from tally.invoicing.billing.batching import Batcher
from tally.invoicing.billing.controls import fire_alerts
from tally.invoicing.billing.drafting import (
    OPENING,
    REGULAR,
    Adjustment,
    Draft,
    DraftInputs,
    ThresholdInvoice,
    advance_fees,
    billing_key,
    draft_invoice,
    usage_charges_of,
)
from tally.invoicing.billing.history import RunKey, RunRecord, RunTrigger
from tally.invoicing.billing.issuing import InvoiceWriter, Pending, Save, Saved
from tally.invoicing.billing.ports import BillingTransaction, CatalogPeer, MeteringPeer
from tally.invoicing.billing.terms import (
    BILLED_SUBSCRIPTIONS,
    BilledParty,
    Subscription,
    active_interval,
)
from tally.invoicing.billing.usage import (
    GroupedQuantity,
    LateUsage,
    UsageQuery,
    correction,
    usage_from_quantities,
    usage_queries,
    value_queries,
)
from tally.invoicing.credit_ledger.handlers import copy_grants, expire_grants, usable_grants
from tally.invoicing.domain import Invoice, InvoiceKind, InvoiceStatus, OutboxMessage
from tally.invoicing.ports import InvoiceCounters, Transactions, Uncounted, read
from tally.money import Money
from tally.pricing import BillingTerms, ChargeUsage, CreditGrant, Period, PlanVersion

_log = logging.getLogger(__name__)
T = TypeVar("T")
ZERO = Decimal(0)


def _now() -> datetime:
    return datetime.now(UTC)


async def _nothing() -> None:
    return None


def last_instant(period: Period) -> datetime:
    """A period's last instant: the invoice closing it burns the credit usable then."""
    return period.end - timedelta(microseconds=1)


@dataclass
class RunResult:
    evaluated: int = 0
    drafted: int = 0
    finalized: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class BillingPolicy:
    grace: timedelta = timedelta(hours=1)
    payment_terms: timedelta = timedelta(days=30)
    concurrency: int = 256


async def event_values(
    metering: MeteringPeer, terms: BillingTerms, party: BilledParty, period: Period
) -> dict[str, list[Decimal]]:
    """Per percentage-priced charge, its meter's value of each event of the period, in event order."""
    asks = value_queries(terms, party.external_id, period)
    if not asks:
        return {}
    found = await asyncio.gather(*(metering.values(query) for query in asks.values()))
    return dict(zip(asks, found, strict=True))


@dataclass(frozen=True, slots=True)
class RunDependencies:
    """What every billing run works with."""

    transactions: Transactions[BillingTransaction]
    catalog: CatalogPeer
    metering: MeteringPeer
    writer: InvoiceWriter
    alerted: Callable[[Alert], OutboxMessage]
    wake_relay: Callable[[], None]
    policy: BillingPolicy
    clock: Callable[[], datetime]
    open_periods: dict[str, tuple[datetime, datetime]]
    """Per subscription, (start, end) of the period it was last seen open in: until that end nothing of it can
    be billed, so runs skip it without asking catalog (a period can be a few days long: a calendar month entered
    mid-month)."""


def _new_run_id() -> str:
    return f"run_{uuid.uuid4().hex}"


class Billing:
    """Runs billing, one run at a time, reading catalog and metering through their ports."""

    def __init__(
        self,
        transactions: Transactions[BillingTransaction],
        catalog: CatalogPeer,
        metering: MeteringPeer,
        wake_relay: Callable[[], None],
        *,
        finalized: Callable[[Invoice], OutboxMessage],
        alerted: Callable[[Alert], OutboxMessage],
        policy: BillingPolicy = BillingPolicy(),
        counters: InvoiceCounters | None = None,
        clock: Callable[[], datetime] = _now,
        new_run_id: Callable[[], str] = _new_run_id,
    ) -> None:
        writer = InvoiceWriter(
            transactions,
            finalized=finalized,
            payment_terms=policy.payment_terms,
            counters=counters or Uncounted(),
        )
        self._with = RunDependencies(
            transactions, catalog, metering, writer, alerted, wake_relay, policy, clock, {}
        )
        self._lock = asyncio.Lock()
        self._new_run_id = new_run_id

    async def run(self, as_of: datetime | None = None, *, trigger: RunTrigger = RunTrigger.RPC) -> RunResult:
        """Bills every subscription up to ``as_of`` (default now); the run is kept with its counts and failures
        (``ListBillingRuns``), also when it fails as a whole."""
        async with self._lock:
            record = RunRecord(
                self._new_run_id(), trigger, as_of or self._with.clock(), started_at=self._with.clock()
            )
            await asyncio.to_thread(self._keep, lambda tx: tx.runs.start(record))
            run = BillingRun(self._with, record.as_of)
            error = ""
            try:
                return await run.bill_all()
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                raise
            finally:
                result = run.result
                finished = replace(
                    record,
                    finished_at=self._with.clock(),
                    evaluated=result.evaluated,
                    drafted=result.drafted,
                    finalized=result.finalized,
                    failures=tuple(result.failures),
                    error=error,
                )
                await asyncio.to_thread(self._keep, lambda tx: tx.runs.finish(finished))
                self._with.wake_relay()

    def run_at(self, as_of: datetime) -> BillingRun:
        """A run that bills nothing by itself: previews use its reads."""
        return BillingRun(self._with, as_of)

    def _keep(self, write: Callable[[BillingTransaction], None]) -> None:
        with self._with.transactions.begin() as tx:
            write(tx)
            tx.commit()

    async def runs(self, *, after: RunKey | None, limit: int) -> list[RunRecord]:
        return await read(self._with.transactions, lambda tx: tx.runs.recent(after=after, limit=limit))


class BillingRun:
    """One run: what it read in bulk up front, its counts and failures, and the batches its subscriptions'
    terms and usage lookups and writes are coalesced into."""

    def __init__(self, dependencies: RunDependencies, as_of: datetime) -> None:
        self._with = dependencies
        self._as_of = as_of
        self.result = RunResult()
        # Writes are group-committed: the drafts ready at the same moment go in one transaction, one at a time
        # (SQLite would otherwise make concurrent writers poll for its lock, and numbering serialises them).
        self._write_gate = asyncio.Lock()
        self._write: Batcher[Save, Saved] = Batcher(
            self._write_many, max_size=200, wait=timedelta(milliseconds=10)
        )
        # Per-subscription code asks for one thing at a time; these coalesce the asks into batch RPCs.
        self._terms_batch: Batcher[tuple[str, datetime], BillingTerms] = Batcher(
            dependencies.catalog.batch_terms
        )
        self._usage_batch: Batcher[tuple[UsageQuery, ...], list[GroupedQuantity]] = Batcher(
            self._fetch_usage, max_size=100
        )
        self._parties: dict[str, BilledParty] = {}
        self._controls: dict[str, Controls] = {}
        self._cursors: dict[str, datetime] = {}
        self._late: dict[str, list[LateUsage]] = {}
        self._thresholds: dict[tuple[str, datetime], list[ThresholdInvoice]] = {}
        self._watermark = 0
        """Metering's usage watermark, taken before this run read any usage (0 until then)."""

    async def _read(self, query: Callable[[BillingTransaction], T]) -> T:
        return await read(self._with.transactions, query)

    async def bill_all(self) -> RunResult:
        """Bills every subscription catalog lists as billed (active, canceled or ended), up to ``as_of``."""
        # Read in bulk up front what every subscription needs: customers, credit grants, billed periods.
        self._controls = await self._read(lambda tx: tx.controls.all())
        self._parties = await self._with.catalog.customers()
        await asyncio.to_thread(self._keep_logos, self._parties.values())
        grants = await self._with.catalog.grants()
        if grants:
            await asyncio.to_thread(copy_grants, self._with.transactions, grants, now=self._with.clock())

        self._cursors = await self._read(lambda tx: tx.billed.billed_through())
        self._late = await self._read(lambda tx: tx.late_usage.pending())
        self._thresholds = await self._read(lambda tx: tx.billed.all_threshold_invoices())
        # Before any usage is read: the periods this run closes make late exactly what metering stores after.
        self._watermark = await self._with.metering.watermark()
        gate = asyncio.Semaphore(self._with.policy.concurrency)
        tasks = []
        async for subscription in self._with.catalog.subscriptions():
            if subscription.status not in BILLED_SUBSCRIPTIONS:
                continue
            self.result.evaluated += 1
            tasks.append(asyncio.create_task(self._bill_guarded(subscription, gate)))
        await asyncio.gather(*tasks)
        # Credit that expired before the grace began is written off once this run has finalized every period
        # that could still burn it (they all ended by then).
        await asyncio.to_thread(
            expire_grants, self._with.transactions, before=self._as_of - self._with.policy.grace
        )
        return self.result

    def _keep_logos(self, parties: Iterable[BilledParty]) -> None:
        """Each issuing entity's logo as catalog serves it now, for the documents' renderer."""
        issuers = {party.issuer.id: party.logo for party in parties if party.issuer is not None}
        if not issuers:
            return
        with self._with.transactions.begin() as tx:
            for entity_id, logo in issuers.items():
                tx.logos.put(entity_id, logo, now=self._with.clock())
            tx.commit()

    async def _party(self, customer_id: str) -> BilledParty:
        party = self._parties.get(customer_id)
        if party is None:
            party = self._parties[customer_id] = await self._with.catalog.customer(customer_id)
        return party

    async def _write_many(self, saves: Sequence[Save]) -> list[Saved | Exception]:
        async with self._write_gate:
            return await asyncio.to_thread(self._with.writer.save_many, saves, now=self._with.clock())

    async def _terms(self, subscription_id: str, at: datetime) -> BillingTerms:
        return await self._terms_batch.load((subscription_id, at))

    async def _fetch_usage(self, asks: Sequence[tuple[UsageQuery, ...]]) -> list[list[GroupedQuantity]]:
        answers = await self._with.metering.usage([query for ask in asks for query in ask])
        split, at = [], 0
        for ask in asks:
            split.append(answers[at : at + len(ask)])
            at += len(ask)
        return split

    async def _usage(self, terms: BillingTerms, party: BilledParty, period: Period) -> dict[str, ChargeUsage]:
        queries = usage_queries(terms, party.external_id, period)
        quantities, values = await asyncio.gather(
            self._usage_batch.load(tuple(queries)), event_values(self._with.metering, terms, party, period)
        )
        return usage_from_quantities(terms, quantities, values)

    async def _bill_guarded(self, subscription: Subscription, gate: asyncio.Semaphore) -> None:
        async with gate:
            try:
                party = await self._party(subscription.customer_id)
                await self._bill(subscription, party, self._controls.get(subscription.id))
            except DomainError as exc:
                self.result.failures.append((subscription.id, str(exc)))
                _log.warning("billing subscription %s failed: %s", subscription.id, exc)
            except Exception as exc:  # a peer down, a bug: reported, retried next run
                self.result.failures.append((subscription.id, f"{type(exc).__name__}: {exc}"))
                _log.exception("billing subscription %s failed", subscription.id)

    async def _bill(self, subscription: Subscription, party: BilledParty, controls: Controls | None) -> None:
        as_of = self._as_of
        active = active_interval(subscription)
        if active.start > as_of:
            return
        cursor = self._cursors.get(subscription.id)
        if cursor is None:
            await self._open(subscription, party, active)
            cursor = active.start
        open_periods = self._with.open_periods
        while cursor < active.end:
            seen = open_periods.get(subscription.id)
            if controls is None and seen is not None and seen[0] <= cursor < seen[1] and as_of < seen[1]:
                return  # the period holding cursor has not ended, and nothing watches it
            terms = await self._terms(subscription.id, max(cursor, active.start))
            period = terms.period
            if period.end > as_of:
                open_periods[subscription.id] = (period.start, period.end)
                if period.start <= as_of and controls is not None:
                    await self._watch_open_period(subscription, party, terms, active, controls)
                return
            finalize = period.end + self._with.policy.grace <= as_of
            await self._close(subscription, party, terms, active, finalize)
            if not finalize:
                return  # the next period cannot be billed before this one is final
            cursor = period.end

    async def _open(self, subscription: Subscription, party: BilledParty, active: Period) -> None:
        """The opening invoice: the first period's in-advance fees, billed at the start."""
        terms = await self._terms(subscription.id, active.start)
        plan = advance_fees(terms.plan)
        if not plan.charges:
            return
        inputs = DraftInputs(
            customer=party.billed,
            plan=plan,
            period=terms.period,
            active=active,
            advance_period=terms.period,
            credits_as_of=self._as_of,
        )
        pending = self._pending(
            subscription, party, billing_key(subscription.id, terms.period.start, OPENING)
        )
        await self._save(pending, inputs, self._as_of, finalize=True)

    async def _closing(
        self, subscription: Subscription, party: BilledParty, terms: BillingTerms, active: Period
    ) -> tuple[DraftInputs, tuple[str, ...]]:
        """What the invoice closing ``terms.period`` bills (credit aside), and the late usage it corrects."""
        period = terms.period
        # The next period's in-advance fees are billed now, at the price of the plan in force then: a plan
        # changed at the boundary (or one that starts charging in advance) bills its own fee.
        usage, following = await asyncio.gather(
            self._usage(terms, party, period),
            self._terms(subscription.id, period.end) if period.end < active.end else _nothing(),
        )
        advance: Period | None = None
        advance_plan: PlanVersion | None = None
        if following is not None and advance_fees(following.plan).charges:
            advance, advance_plan = following.period, following.plan
        thresholds = self._thresholds.get((subscription.id, period.start), [])
        adjustments, late_ids = await self._corrections(subscription, party, active, before=period)
        inputs = DraftInputs(
            customer=party.billed,
            plan=terms.plan,
            period=period,
            active=active,
            usage=usage,
            advance_period=advance,
            advance_plan=advance_plan,
            threshold_invoices=thresholds,
            adjustments=adjustments,
            meters=terms.meters,
        )
        return inputs, late_ids

    async def _close(
        self,
        subscription: Subscription,
        party: BilledParty,
        terms: BillingTerms,
        active: Period,
        finalize: bool,
    ) -> None:
        period = terms.period
        usage_read_at = self._with.clock()  # for invoices without a watermark, and to show when it read
        inputs, late_ids = await self._closing(subscription, party, terms, active)
        pending = replace(
            self._pending(subscription, party, billing_key(subscription.id, period.start, REGULAR)),
            late_usage_ids=late_ids,
            usage_read_at=usage_read_at,
            usage_watermark=self._watermark,
        )
        await self._save(pending, inputs, last_instant(period), finalize=finalize)

    async def preview(
        self, subscription: Subscription, party: BilledParty, terms: BillingTerms
    ) -> tuple[Draft, Pending]:
        """The invoice that will close ``terms.period`` if no more usage comes before it ends: its fees for the
        whole period, usage so far, the minimum commitment at the period end, the next period's in-advance fees,
        threshold invoices netted, pending corrections of earlier invoices, and the credit usable at the period's
        last instant (the ledger, with catalog's grants copied in by the caller). Nothing is stored."""
        credits_at = last_instant(terms.period)

        def local(
            tx: BillingTransaction,
        ) -> tuple[dict[str, list[LateUsage]], list[ThresholdInvoice], list[CreditGrant]]:
            return (
                tx.late_usage.pending(),
                tx.billed.threshold_invoices(subscription.id, terms.period),
                usable_grants(tx.ledger, party.id, party.currency, credits_at),
            )

        self._late, thresholds, grants = await self._read(local)
        self._thresholds = {(subscription.id, terms.period.start): thresholds}
        inputs, _ = await self._closing(subscription, party, terms, active_interval(subscription))
        draft = draft_invoice(replace(inputs, grants=tuple(grants), credits_as_of=credits_at))
        pending = self._pending(
            subscription, party, billing_key(subscription.id, terms.period.start, REGULAR)
        )
        return draft, pending

    def _pending(
        self,
        subscription: Subscription,
        party: BilledParty,
        key: str,
        kind: InvoiceKind = InvoiceKind.REGULAR,
    ) -> Pending:
        return Pending(
            key=key,
            subscription_id=subscription.id,
            kind=kind,
            customer=party.snapshot,
            customer_id=party.id,
            currency=party.currency,
            issuer=party.issuer,
            references=subscription.references,
        )

    async def _save(
        self, pending: Pending, inputs: DraftInputs, credits_at: datetime, *, finalize: bool
    ) -> None:
        def make(grants: Sequence[CreditGrant]) -> Draft:
            return draft_invoice(replace(inputs, grants=tuple(grants), credits_as_of=credits_at))

        invoice, changed = await self._write.load(Save(pending, make, credits_at, finalize))
        if changed:
            self.result.drafted += 1
            if invoice.status is InvoiceStatus.FINALIZED:
                self.result.finalized += 1
                _log.info("invoice %s finalized as %s", invoice.id, invoice.number)

    async def _corrections(
        self, subscription: Subscription, party: BilledParty, active: Period, *, before: Period
    ) -> tuple[list[Adjustment], tuple[str, ...]]:
        """Adjustments for this subscription's finalized invoices whose usage changed since they were issued."""
        pending = [
            late for late in self._late.get(party.external_id, []) if subscription.id not in late.applied_by
        ]
        if not pending:
            return [], ()
        overlapping = await self._read(
            lambda tx: [
                (late, tx.billed.usage_billed_overlapping(subscription.id, late.period)) for late in pending
            ]
        )
        by_invoice: dict[str, tuple[Invoice, list[LateUsage]]] = {}
        for late, invoices in overlapping:
            for invoice in invoices:
                if invoice.period.end <= before.start:
                    by_invoice.setdefault(invoice.id, (invoice, []))[1].append(late)
        # What earlier corrections already added to each invoice: only this subscription's runs add to it.
        corrected = await self._read(lambda tx: {i: tx.billed.corrections_of(i) for i in by_invoice})
        adjustments = []
        applied: set[str] = set()
        for invoice, lates in by_invoice.values():
            billed_period = Period(invoice.period.start, invoice.period.end)
            terms = await self._terms(subscription.id, billed_period.start)
            usage = await self._usage(terms, party, billed_period)
            repriced = draft_invoice(
                DraftInputs(
                    customer=party.billed,
                    plan=terms.plan,
                    period=billed_period,
                    active=active,
                    usage=usage,
                    meters=terms.meters,
                )
            )
            applied.update(late.id for late in lates)
            adjustment = correction(invoice, lates, repriced, corrected[invoice.id])
            if adjustment is not None:
                adjustments.append(adjustment)
        return adjustments, tuple(sorted(applied))

    async def _watch_open_period(
        self,
        subscription: Subscription,
        party: BilledParty,
        terms: BillingTerms,
        active: Period,
        controls: Controls,
    ) -> None:
        """Fires the alerts the open period reached, and invoices it early past the invoice threshold."""
        as_of = self._as_of
        period = terms.period
        usage = await self._usage(terms, party, Period(period.start, as_of))
        so_far = accrued(party.billed, terms, usage, active)
        await self._fire_alerts(subscription, period, controls, so_far.subtotal, usage)
        threshold = controls.invoice_threshold
        if threshold is None:
            return
        earlier = await self._read(lambda tx: tx.billed.threshold_invoices(subscription.id, period))
        unbilled = so_far.subtotal.amount - sum((t.subtotal for t in earlier), ZERO)
        if unbilled < threshold:
            return
        sequence = await self._read(
            lambda tx: tx.billed.count_kind(subscription.id, period, InvoiceKind.THRESHOLD)
        )
        inputs = DraftInputs(
            customer=party.billed,
            plan=usage_charges_of(terms.plan),
            period=period,
            active=active,
            usage=usage,
            threshold_invoices=earlier,
            meters=terms.meters,
            credits_as_of=as_of,
        )
        key = billing_key(subscription.id, period.start, f"THRESHOLD|{sequence + 1}")
        await self._save(
            self._pending(subscription, party, key, InvoiceKind.THRESHOLD), inputs, as_of, finalize=True
        )

    async def _fire_alerts(
        self,
        subscription: Subscription,
        period: Period,
        controls: Controls,
        spend: Money,
        usage: dict[str, ChargeUsage],
    ) -> None:
        due = reached(
            controls,
            subscription_id=subscription.id,
            customer_id=subscription.customer_id,
            period=period,
            spend=spend,
            usage=usage,
            at=self._as_of,
        )
        if not due:
            return
        fired = await asyncio.to_thread(fire_alerts, self._with.transactions, due, self._with.alerted)
        if fired:
            self._with.wake_relay()
