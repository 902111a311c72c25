"""Billing runs and previews: every subscription's ended periods drafted, and finalized once the grace is over.

For each subscription, from the end of its last REGULAR invoice (or its start):
- an OPENING invoice at the start bills the first period's in-advance fees (only if the plan has any);
- each period that ended by ``as_of`` is drafted (arrears fees, usage, included usage, minimum, maximum,
  discounts, the next period's in-advance fees, threshold invoices netted, corrections of finalized
  invoices whose usage changed since, tax, credits); while ``as_of`` is within the grace after the period end
  the draft is re-rated on every run, after it the invoice is finalized;
- the open period is checked against the subscription's invoice threshold (an early THRESHOLD invoice) and
  its spend and usage alerts.
A subscription that fails is reported and retried on the next run; the others go on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tally.api.catalog.v1 import catalog_service_pb2 as cat
from tally.domain.errors import DomainError, InvalidArgument
from tally.invoicing.billing.alerts import AlertOutbox
from tally.invoicing.billing.batching import Batcher
from tally.invoicing.billing.drafting import (
    Adjustment,
    BilledCustomer,
    Draft,
    DraftInputs,
    ThresholdInvoice,
    advance_fees,
    draft_invoice,
    invoice_from_draft,
)
from tally.invoicing.billing.peers import BilledParty, Catalog, GroupedQuantity, Metering, UsageQuery
from tally.invoicing.billing.store import (
    OPENING,
    BillingStore,
    Controls,
    LateUsage,
    Pending,
    Save,
    billing_key,
)
from tally.invoicing.billing.terms import (
    BillingTerms,
    active_interval,
    terms_from_wire,
    usage_from_quantities,
    usage_queries,
    value_queries,
)
from tally.invoicing.domain import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, LineKind
from tally.invoicing.events import invoice_finalized
from tally.pricing import ChargeUsage, CreditGrant, FlatPrice, Period, PlanVersion

_log = logging.getLogger(__name__)
ZERO = Decimal(0)
_USAGE_KINDS = (LineKind.USAGE, LineKind.MINIMUM_TRUE_UP, LineKind.DISCOUNT)
_SHORTEST_PERIOD = timedelta(days=28)
"""No billing cycle is shorter (monthly is the shortest; February has 28 days)."""
_BILLED_STATUSES = (
    cat.SUBSCRIPTION_STATUS_ACTIVE,
    cat.SUBSCRIPTION_STATUS_CANCELED,
    cat.SUBSCRIPTION_STATUS_ENDED,
)


def _now() -> datetime:
    return datetime.now(UTC)


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


def _customer(party: BilledParty) -> BilledCustomer:
    return BilledCustomer(party.id, party.currency, party.tax_rate_percent)


def _usage_only(plan: PlanVersion) -> PlanVersion:
    """The usage charges of ``plan`` with their own discounts: what accrues during a period."""
    charges = tuple(charge for charge in plan.charges if not isinstance(charge.price, FlatPrice))
    ids = {charge.id for charge in charges}
    return PlanVersion(
        plan.currency, charges, discounts=tuple(d for d in plan.discounts if d.charge_id in ids)
    )


def _usage_subtotal(lines: Sequence[InvoiceLine]) -> Decimal:
    """What an invoice billed for usage: usage lines, true-up, discounts and the cap (not fees, credits or
    corrections of other invoices)."""
    total = ZERO
    for line in lines:
        if line.kind in _USAGE_KINDS or (line.kind is LineKind.ADJUSTMENT and not line.corrects_invoice_id):
            total += line.amount.amount
    return total


class Billing:
    """Runs billing and previews invoices, reading catalog and metering through the mesh."""

    def __init__(
        self,
        store: BillingStore,
        catalog: Catalog,
        metering: Metering,
        wake_relay: Callable[[], None],
        *,
        alerts: AlertOutbox,
        policy: BillingPolicy = BillingPolicy(),
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._store = store
        self._catalog = catalog
        self._metering = metering
        self._wake_relay = wake_relay
        self._alerts = alerts
        self._policy = policy
        self._clock = clock
        self._lock = asyncio.Lock()
        # Writes are group-committed: the drafts ready at the same moment go in one transaction, one at a time
        # (SQLite would otherwise make concurrent writers poll for its lock, and numbering serialises them).
        self._writer = asyncio.Lock()
        self._write: Batcher[Save, tuple[Invoice, bool]] = Batcher(
            self._write_many, max_size=200, wait=timedelta(milliseconds=10)
        )
        # Per-subscription code asks for one thing at a time; these coalesce the asks into batch RPCs.
        self._terms_batch: Batcher[tuple[str, datetime], cat.EffectiveTerms] = Batcher(catalog.batch_terms)
        self._usage_batch: Batcher[tuple[UsageQuery, ...], list[GroupedQuantity]] = Batcher(
            self._fetch_usage, max_size=100
        )
        self._parties: dict[str, BilledParty] = {}
        self._cursors: dict[str, datetime] = {}
        self._late: dict[str, list[LateUsage]] = {}
        self._thresholds: dict[tuple[str, datetime], list[ThresholdInvoice]] = {}

    # ---- the run -----------------------------------------------------------------------------------------

    async def run(self, as_of: datetime | None = None) -> RunResult:
        """Bills every subscription up to ``as_of`` (default now); one run at a time per process."""
        async with self._lock:
            moment = as_of or self._clock()
            result = RunResult()
            # Read in bulk up front what every subscription needs: customers, credit grants, billed periods.
            controls = await asyncio.to_thread(self._store.controls)
            self._parties = await self._catalog.customers()
            grants = await self._catalog.grants()
            if grants:
                await asyncio.to_thread(self._store.sync_grants, grants, self._clock())
            self._cursors = await asyncio.to_thread(self._store.billed_through_all)
            self._late = await asyncio.to_thread(self._store.pending_late_usage)
            self._thresholds = await asyncio.to_thread(self._store.threshold_invoices_all)
            gate = asyncio.Semaphore(self._policy.concurrency)
            tasks = []
            async for subscription in self._catalog.subscriptions():
                if subscription.status not in _BILLED_STATUSES:
                    continue
                result.evaluated += 1
                tasks.append(
                    asyncio.create_task(self._bill_guarded(subscription, moment, controls, gate, result))
                )
            await asyncio.gather(*tasks)
            self._wake_relay()
            return result

    async def _party(self, customer_id: str) -> BilledParty:
        party = self._parties.get(customer_id)
        if party is None:
            party = self._parties[customer_id] = await self._catalog.customer(customer_id)
        return party

    async def _write_many(self, saves: Sequence[Save]) -> list[tuple[Invoice, bool] | Exception]:
        async with self._writer:
            return await asyncio.to_thread(
                self._store.save_many,
                saves,
                now=self._clock(),
                payment_terms=self._policy.payment_terms,
                event=invoice_finalized,
            )

    async def _terms(self, subscription_id: str, at: datetime) -> BillingTerms:
        return terms_from_wire(await self._terms_batch.load((subscription_id, at)))

    async def _fetch_usage(self, asks: Sequence[tuple[UsageQuery, ...]]) -> list[list[GroupedQuantity]]:
        answers = await self._metering.usage([query for ask in asks for query in ask])
        split, at = [], 0
        for ask in asks:
            split.append(answers[at : at + len(ask)])
            at += len(ask)
        return split

    async def _bill_guarded(
        self,
        subscription: cat.Subscription,
        as_of: datetime,
        controls: dict[str, Controls],
        gate: asyncio.Semaphore,
        result: RunResult,
    ) -> None:
        async with gate:
            try:
                party = await self._party(subscription.customer_id)
                await self._bill(subscription, party, as_of, controls.get(subscription.id), result)
            except DomainError as exc:
                result.failures.append((subscription.id, str(exc)))
                _log.warning("billing subscription %s failed: %s", subscription.id, exc)
            except Exception as exc:  # a peer down, a bug: reported, retried next run
                result.failures.append((subscription.id, f"{type(exc).__name__}: {exc}"))
                _log.exception("billing subscription %s failed", subscription.id)

    async def _bill(
        self,
        subscription: cat.Subscription,
        party: BilledParty,
        as_of: datetime,
        controls: Controls | None,
        result: RunResult,
    ) -> None:
        active = active_interval(subscription)
        if active.start > as_of:
            return
        cursor = self._cursors.get(subscription.id)
        if cursor is None:
            await self._open(subscription, party, active, as_of, result)
            cursor = active.start
        while cursor < active.end:
            if controls is None and cursor + _SHORTEST_PERIOD > as_of:
                return  # the period starting at cursor cannot have ended, and nothing watches it
            terms = await self._terms(subscription.id, max(cursor, active.start))
            period = terms.period
            if period.end > as_of:
                if period.start <= as_of:
                    await self._watch_open_period(subscription, party, terms, active, as_of, controls, result)
                return
            finalize = period.end + self._policy.grace <= as_of
            await self._close(subscription, party, terms, active, finalize, result)
            if not finalize:
                return  # the next period cannot be billed before this one is final
            cursor = period.end

    async def _usage(self, terms: BillingTerms, party: BilledParty, period: Period) -> dict[str, ChargeUsage]:
        queries = usage_queries(terms, party.external_id, period)
        quantities, values = await asyncio.gather(
            self._usage_batch.load(tuple(queries)), self._values(terms, party, period)
        )
        return usage_from_quantities(terms, quantities, values)

    async def _values(
        self, terms: BillingTerms, party: BilledParty, period: Period
    ) -> dict[str, list[Decimal]]:
        """Per percentage-priced charge, its meter's value of each event of the period, in event order."""
        asks = value_queries(terms, party.external_id, period)
        if not asks:
            return {}
        found = await asyncio.gather(*(self._metering.values(query) for query in asks.values()))
        return dict(zip(asks, found, strict=True))

    async def _open(
        self,
        subscription: cat.Subscription,
        party: BilledParty,
        active: Period,
        as_of: datetime,
        result: RunResult,
    ) -> None:
        """The opening invoice: the first period's in-advance fees, billed at the start."""
        terms = await self._terms(subscription.id, active.start)
        plan = advance_fees(terms.plan)
        if not plan.charges:
            return
        inputs = DraftInputs(
            customer=_customer(party),
            plan=plan,
            period=terms.period,
            active=active,
            advance_period=terms.period,
            credits_as_of=as_of,
        )
        pending = Pending(
            key=billing_key(subscription.id, terms.period.start, OPENING),
            subscription_id=subscription.id,
            kind=InvoiceKind.REGULAR,
            customer=party.snapshot,
            customer_id=party.id,
            currency=party.currency,
        )
        await self._save(pending, inputs, as_of, finalize=True, result=result)

    async def _close(
        self,
        subscription: cat.Subscription,
        party: BilledParty,
        terms: BillingTerms,
        active: Period,
        finalize: bool,
        result: RunResult,
    ) -> None:
        period = terms.period
        usage_read_at = self._clock()  # metering treats the period's usage stored after this as late
        usage = await self._usage(terms, party, period)
        advance: Period | None = None
        advance_plan: PlanVersion | None = None
        if period.end < active.end:
            # The next period's in-advance fees are billed now, at the price of the plan in force then: a
            # plan changed at the boundary (or one that starts charging in advance) bills its own fee.
            following = await self._terms(subscription.id, period.end)
            if advance_fees(following.plan).charges:
                advance, advance_plan = following.period, following.plan
        thresholds = self._thresholds.get((subscription.id, period.start), [])
        adjustments, late_ids = await self._corrections(subscription, party, active, before=period)
        inputs = DraftInputs(
            customer=_customer(party),
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
        pending = Pending(
            key=billing_key(subscription.id, period.start, "REGULAR"),
            subscription_id=subscription.id,
            kind=InvoiceKind.REGULAR,
            customer=party.snapshot,
            customer_id=party.id,
            currency=party.currency,
            late_usage_ids=late_ids,
            usage_read_at=usage_read_at,
        )
        await self._save(
            pending, inputs, period.end - timedelta(microseconds=1), finalize=finalize, result=result
        )

    async def _save(
        self,
        pending: Pending,
        inputs: DraftInputs,
        credits_at: datetime,
        *,
        finalize: bool,
        result: RunResult,
    ) -> Invoice:
        def make(grants: Sequence[CreditGrant]) -> Draft:
            return draft_invoice(replace(inputs, grants=tuple(grants), credits_as_of=credits_at))

        invoice, changed = await self._write.load(Save(pending, make, credits_at, finalize))
        if changed:
            result.drafted += 1
            if invoice.status is InvoiceStatus.FINALIZED:
                result.finalized += 1
                _log.info("invoice %s finalized as %s", invoice.id, invoice.number)
        return invoice

    # ---- late usage --------------------------------------------------------------------------------------

    async def _corrections(
        self, subscription: cat.Subscription, party: BilledParty, active: Period, *, before: Period
    ) -> tuple[list[Adjustment], tuple[str, ...]]:
        """Adjustments for this subscription's finalized invoices whose usage changed since they were issued."""
        pending = [
            late for late in self._late.get(party.external_id, []) if subscription.id not in late.applied_by
        ]
        if not pending:
            return [], ()
        by_invoice: dict[str, tuple[Invoice, list[LateUsage]]] = {}
        for late in pending:
            for invoice in await asyncio.to_thread(
                self._store.billed_invoices_overlapping, subscription.id, late.period
            ):
                if invoice.period.end <= before.start:
                    by_invoice.setdefault(invoice.id, (invoice, []))[1].append(late)
        adjustments = []
        applied: set[str] = set()
        for invoice, lates in by_invoice.values():
            billed_period = Period(invoice.period.start, invoice.period.end)
            terms = await self._terms(subscription.id, billed_period.start)
            usage = await self._usage(terms, party, billed_period)
            repriced = draft_invoice(
                DraftInputs(
                    customer=_customer(party),
                    plan=terms.plan,
                    period=billed_period,
                    active=active,
                    usage=usage,
                    meters=terms.meters,
                )
            )
            now_billed = sum(
                (
                    line.amount.amount
                    for line in repriced.lines
                    if line.kind in _USAGE_KINDS
                    or (line.kind is LineKind.ADJUSTMENT and not line.corrects_invoice_id)
                ),
                ZERO,
            )
            billed = _usage_subtotal(invoice.lines) + await asyncio.to_thread(
                self._store.corrections_of, invoice.id
            )
            events = tuple(dict.fromkeys(event for late in lates for event in late.event_ids))
            applied.update(late.id for late in lates)
            delta = now_billed - billed
            if delta != 0:
                adjustments.append(
                    Adjustment(
                        description=f"Usage corrections for invoice {invoice.number} ({len(events)} events)",
                        amount=delta,
                        corrects_invoice_id=invoice.id,
                        service_period=billed_period,
                        event_ids=events,
                    )
                )
        return adjustments, tuple(sorted(applied))

    # ---- the open period: thresholds and alerts ------------------------------------------------------------

    async def _watch_open_period(
        self,
        subscription: cat.Subscription,
        party: BilledParty,
        terms: BillingTerms,
        active: Period,
        as_of: datetime,
        controls: Controls | None,
        result: RunResult,
    ) -> None:
        if controls is None:
            return
        period = terms.period
        usage = await self._usage(terms, party, Period(period.start, as_of))
        accrued = draft_invoice(
            DraftInputs(
                customer=_customer(party),
                plan=_usage_only(terms.plan),
                period=period,
                active=active,
                usage=usage,
            )
        )
        await self._alerts.check(subscription, period, controls, accrued, usage, as_of)
        threshold = controls.invoice_threshold
        if threshold is None:
            return
        earlier = await asyncio.to_thread(self._store.threshold_invoices, subscription.id, period)
        unbilled = accrued.subtotal.amount - sum((t.subtotal for t in earlier), ZERO)
        if unbilled < threshold:
            return
        sequence = await asyncio.to_thread(
            self._store.count_kind, subscription.id, period, InvoiceKind.THRESHOLD
        )
        inputs = DraftInputs(
            customer=_customer(party),
            plan=_usage_only(terms.plan),
            period=period,
            active=active,
            usage=usage,
            threshold_invoices=earlier,
            meters=terms.meters,
            credits_as_of=as_of,
        )
        pending = Pending(
            key=billing_key(subscription.id, period.start, f"THRESHOLD|{sequence + 1}"),
            subscription_id=subscription.id,
            kind=InvoiceKind.THRESHOLD,
            customer=party.snapshot,
            customer_id=party.id,
            currency=party.currency,
        )
        await self._save(pending, inputs, as_of, finalize=True, result=result)

    # ---- preview -----------------------------------------------------------------------------------------

    async def preview(self, subscription_id: str) -> Invoice:
        """Cost to date for the open period: arrears fees prorated to now, usage so far, tax, credits; not stored."""
        if not subscription_id:
            raise InvalidArgument.field("subscription_id", "is required")
        now = self._clock()
        # Three round trips, each as wide as it can be: the subscription with the terms at now (the common
        # case), then the customer, then usage with the local reads. No batching delay on this path.
        terms_now = asyncio.create_task(self._catalog.terms(subscription_id, now))
        terms_now.add_done_callback(
            lambda task: task.cancelled() or task.exception()
        )  # an error is read below
        try:
            subscription = await self._catalog.subscription(subscription_id)
        finally:
            if not terms_now.done():
                await asyncio.wait([terms_now])
        party_task = asyncio.create_task(self._catalog.customer(subscription.customer_id))
        active = active_interval(subscription)
        if now < active.start:
            raise InvalidArgument.field("subscription_id", "has not started yet: nothing to preview")
        if now < active.end and terms_now.exception() is None:
            terms = terms_from_wire(terms_now.result())
        else:  # ended or canceled: its last period
            terms = terms_from_wire(
                await self._catalog.terms(subscription_id, active.end - timedelta(microseconds=1))
            )
        party = await party_task
        period = terms.period
        to_date = Period(period.start, min(now, period.end))
        queries = usage_queries(terms, party.external_id, to_date)
        answers, values, thresholds, grants = await asyncio.gather(
            self._metering.usage(queries),
            self._values(terms, party, to_date),
            asyncio.to_thread(self._store.threshold_invoices, subscription_id, period),
            asyncio.to_thread(self._store.usable_grants, party.id, party.currency, now),
        )
        usage = usage_from_quantities(terms, answers, values)
        draft = draft_invoice(
            DraftInputs(
                customer=_customer(party),
                plan=terms.plan,
                period=period,
                # Arrears fees accrue up to now: the active interval is cut at the preview instant.
                active=Period(
                    active.start, max(min(active.end, to_date.end), active.start + timedelta(seconds=1))
                ),
                usage=usage,
                threshold_invoices=thresholds,
                grants=grants,
                credits_as_of=now,
                meters=terms.meters,
            )
        )
        return preview_invoice(subscription_id, party, draft, now)


def preview_invoice(subscription_id: str, party: BilledParty, draft: Draft, now: datetime) -> Invoice:
    """The draft as an unsaved invoice (no id, no number)."""
    return invoice_from_draft(
        draft,
        invoice_id="",
        subscription_id=subscription_id,
        customer=party.snapshot,
        status=InvoiceStatus.DRAFT,
        created_at=now,
    )
