"""In-memory fakes of invoicing's ports: every repository (one shared set of tables, with transactions that keep
what they wrote only when committed) and the catalog and metering peers.

They answer as the SQL stores and the gRPC peers do, so the use cases run unchanged against them; what a unit test
asserts is what the use case did, not how the fake is built.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal

from tally.domain.errors import FailedPrecondition
from tally.invoicing.billing.alerts import Controls
from tally.invoicing.billing.drafting import OPENING, REGULAR, ThresholdInvoice
from tally.invoicing.billing.history import RunKey, RunRecord
from tally.invoicing.billing.terms import BilledParty, Subscription
from tally.invoicing.billing.usage import GroupedQuantity, LateUsage, UsageQuery
from tally.invoicing.credit_ledger.domain import Entry, Grant
from tally.invoicing.credit_notes.domain import CreditNote, CreditNoteFilter, CreditNoteKey
from tally.invoicing.delivery.domain import Attempt, Delivery, DeliveryKey, DeliveryState
from tally.invoicing.domain import (
    BILLED_STATUSES,
    OPEN_STATUSES,
    Invoice,
    InvoiceFilter,
    InvoiceKey,
    InvoiceKind,
    InvoiceStatus,
    OutboxMessage,
    Payment,
)
from tally.pricing import BillingTerms, Period, PlanVersion

ZERO = Decimal(0)


class Conflict(Exception):
    """A write the database's constraints would refuse (a unique key taken twice)."""


@dataclass
class StoredInvoice:
    invoice: Invoice
    billing_key: str | None


@dataclass
class StoredLate:
    usage: LateUsage
    cause: str
    detected_at: datetime
    applied_invoice_id: str | None = None


@dataclass
class Tables:
    """Everything the fakes hold: the state a committed transaction leaves behind."""

    invoices: dict[str, StoredInvoice] = field(default_factory=dict)
    payments: dict[str, Payment] = field(default_factory=dict)
    series: dict[str, int] = field(default_factory=dict)
    inbox: set[tuple[str, str]] = field(default_factory=set)
    outbox: list[OutboxMessage] = field(default_factory=list)
    grants: dict[str, Grant] = field(default_factory=dict)
    entries: list[Entry] = field(default_factory=list)
    credit_notes: dict[str, CreditNote] = field(default_factory=dict)
    late: dict[str, StoredLate] = field(default_factory=dict)
    late_applied: dict[tuple[str, str], str] = field(default_factory=dict)
    controls: dict[str, Controls] = field(default_factory=dict)
    firings: set[tuple[str, str, datetime]] = field(default_factory=set)
    runs: dict[str, RunRecord] = field(default_factory=dict)
    logos: dict[str, bytes] = field(default_factory=dict)
    deliveries: dict[str, Delivery] = field(default_factory=dict)
    leases: dict[str, datetime] = field(default_factory=dict)


def _overlaps(period: Period, other: Period) -> bool:
    return period.start < other.end and period.end > other.start


def _period(invoice: Invoice) -> Period:
    return Period(invoice.period.start, invoice.period.end)


class FakeInvoices:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    def get(self, invoice_id: str, *, for_update: bool = False, lines: bool = True) -> Invoice | None:
        stored = self._t.invoices.get(invoice_id)
        if stored is None:
            return None
        return stored.invoice if lines else replace(stored.invoice, lines=())

    def find(self, where: InvoiceFilter, *, after: InvoiceKey | None, limit: int) -> list[Invoice]:
        found = [
            replace(stored.invoice, lines=())
            for stored in self._t.invoices.values()
            if (not where.customer_id or stored.invoice.customer_id == where.customer_id)
            and (where.status is None or stored.invoice.status is where.status)
            and (where.overlapping is None or _overlaps(_period(stored.invoice), where.overlapping))
            and (
                after is None or (stored.invoice.created_at, stored.invoice.id) < (after.created_at, after.id)
            )
        ]
        return sorted(found, key=lambda invoice: (invoice.created_at, invoice.id), reverse=True)[:limit]

    def add(self, keyed: Sequence[tuple[str, Invoice]], *, now: datetime) -> None:
        for key, invoice in keyed:
            if invoice.id in self._t.invoices or any(s.billing_key == key for s in self._t.invoices.values()):
                raise Conflict(f"invoice {invoice.id} or billing key {key} exists")
            self._check_number(invoice)
            self._t.invoices[invoice.id] = StoredInvoice(invoice, key)

    def replace(self, keyed: Sequence[tuple[str, Invoice]], *, now: datetime) -> None:
        for key, invoice in keyed:
            if invoice.id not in self._t.invoices:
                raise Conflict(f"invoice {invoice.id} was never stored")
            self._check_number(invoice)
            self._t.invoices[invoice.id] = StoredInvoice(invoice, key)

    def _check_number(self, invoice: Invoice) -> None:
        if invoice.number is not None and any(
            s.invoice.number == invoice.number and s.invoice.id != invoice.id
            for s in self._t.invoices.values()
        ):
            raise Conflict(f"number {invoice.number} is taken")

    def finalize(self, invoice: Invoice, *, now: datetime) -> None:
        stored = self._t.invoices[invoice.id]
        if stored.invoice.status is InvoiceStatus.DRAFT:
            self._check_number(invoice)
            stored.invoice = replace(
                stored.invoice,
                number=invoice.number,
                status=InvoiceStatus.FINALIZED,
                issued_at=invoice.issued_at,
                due_at=invoice.due_at,
            )

    def void(self, invoice_id: str, *, now: datetime) -> bool:
        stored = self._t.invoices.get(invoice_id)
        if stored is None or stored.invoice.status is not InvoiceStatus.FINALIZED:
            return False
        stored.invoice = replace(stored.invoice, status=InvoiceStatus.VOID, voided_at=now)
        return True

    def settle(self, invoice: Invoice, *, now: datetime) -> None:
        stored = self._t.invoices[invoice.id]
        stored.invoice = replace(
            stored.invoice,
            status=invoice.status,
            credited=invoice.credited,
            paid=invoice.paid,
            paid_at=invoice.paid_at,
        )

    def open_of_customer(self, customer_id: str) -> list[Invoice]:
        found = [
            replace(s.invoice, lines=())
            for s in self._t.invoices.values()
            if s.invoice.customer_id == customer_id and s.invoice.status in OPEN_STATUSES
        ]
        return sorted(found, key=lambda i: (i.issued_at or i.created_at, i.id))


class FakePayments:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    def add(self, payment: Payment, *, now: datetime) -> bool:
        if payment.payment_id in self._t.payments:
            return False
        self._t.payments[payment.payment_id] = payment
        return True

    def amounts(self, invoice_id: str) -> list[Decimal]:
        return [p.amount.amount for p in self._t.payments.values() if p.invoice_id == invoice_id]


class FakeNumberSeries:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    def take(self, series: str, count: int = 1) -> int:
        first = self._t.series.get(series, 1)
        self._t.series[series] = first + count
        return first


class FakeInbox:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    def claim(self, consumer: str, msg_id: str) -> bool:
        if (consumer, msg_id) in self._t.inbox:
            return False
        self._t.inbox.add((consumer, msg_id))
        return True


class FakeOutbox:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    def add(self, message: OutboxMessage) -> None:
        self._t.outbox.append(message)

    def add_many(self, messages: Sequence[OutboxMessage]) -> None:
        self._t.outbox.extend(messages)


class FakeCreditLedger:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    def has_grant(self, grant_id: str) -> bool:
        return grant_id in self._t.grants

    def add_grant(self, grant: Grant, *, now: datetime) -> None:
        if grant.id in self._t.grants:
            raise Conflict(f"grant {grant.id} exists")
        self._t.grants[grant.id] = grant

    def append(self, entries: Sequence[Entry]) -> None:
        for entry in entries:
            if entry.credit_grant_id not in self._t.grants:
                raise Conflict(f"entry on unknown grant {entry.credit_grant_id}")
        self._t.entries.extend(entries)

    def balance(self, grant_id: str) -> Decimal:
        return sum((e.amount.amount for e in self._t.entries if e.credit_grant_id == grant_id), ZERO)

    def grants_with_balance(self, customer_id: str, currency: str) -> list[tuple[Grant, Decimal]]:
        return [
            (grant, self.balance(grant.id))
            for grant in self._t.grants.values()
            if grant.customer_id == customer_id and grant.amount.currency == currency
        ]

    def expired_with_balance(self, before: datetime) -> list[tuple[Grant, Decimal]]:
        return [
            (grant, left)
            for grant in self._t.grants.values()
            if grant.expires_at is not None
            and grant.expires_at <= before
            and (left := self.balance(grant.id)) > 0
        ]

    def currencies(self, customer_id: str) -> list[str]:
        return list(
            dict.fromkeys(g.amount.currency for g in self._t.grants.values() if g.customer_id == customer_id)
        )

    def customers_with_grants(self, customer_ids: Iterable[str]) -> set[str]:
        holding = {grant.customer_id for grant in self._t.grants.values()}
        return {customer for customer in customer_ids if customer in holding}

    def entries_of_invoice(self, invoice_id: str) -> list[Entry]:
        return sorted(
            (e for e in self._t.entries if e.invoice_id == invoice_id), key=lambda e: (e.occurred_at, e.id)
        )

    def entries(self, customer_id: str, *, after: tuple[datetime, str] | None, limit: int) -> list[Entry]:
        mine = sorted(
            (e for e in self._t.entries if e.customer_id == customer_id), key=lambda e: (e.occurred_at, e.id)
        )
        return [e for e in mine if after is None or (e.occurred_at, e.id) > after][:limit]


class FakeCreditNotes:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    def _read(self, note: CreditNote) -> CreditNote:
        # Read as the store does: with the current number of the invoice it credits.
        return replace(note, invoice_number=self._t.invoices[note.invoice_id].invoice.number or "")

    def get(self, credit_note_id: str) -> CreditNote | None:
        note = self._t.credit_notes.get(credit_note_id)
        return None if note is None else self._read(note)

    def find(self, where: CreditNoteFilter, *, after: CreditNoteKey | None, limit: int) -> list[CreditNote]:
        found = [
            self._read(note)
            for note in self._t.credit_notes.values()
            if (not where.customer_id or note.customer_id == where.customer_id)
            and (not where.invoice_id or note.invoice_id == where.invoice_id)
            and (after is None or (note.issued_at, note.id) < (after.issued_at, after.id))
        ]
        return sorted(found, key=lambda note: (note.issued_at, note.id), reverse=True)[:limit]

    def of_invoice(self, invoice_id: str) -> list[CreditNote]:
        mine = [self._read(n) for n in self._t.credit_notes.values() if n.invoice_id == invoice_id]
        return sorted(mine, key=lambda note: (note.issued_at, note.id))

    def add(self, note: CreditNote, *, now: datetime) -> None:
        if note.invoice_id not in self._t.invoices:
            raise Conflict(f"credit note on unknown invoice {note.invoice_id}")
        if note.id in self._t.credit_notes or any(
            n.number == note.number for n in self._t.credit_notes.values()
        ):
            raise Conflict(f"credit note {note.id} or number {note.number} exists")
        self._t.credit_notes[note.id] = note


def _usage_billed(stored: StoredInvoice) -> bool:
    return stored.billing_key is None or not stored.billing_key.endswith(f"|{OPENING}")


class FakeBilledInvoices:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    def _issued_regular(self) -> Iterator[StoredInvoice]:
        for stored in self._t.invoices.values():
            invoice = stored.invoice
            if (
                invoice.kind is InvoiceKind.REGULAR
                and invoice.status in BILLED_STATUSES
                and _usage_billed(stored)
            ):
                yield stored

    def billed_through(self) -> dict[str, datetime]:
        through: dict[str, datetime] = {}
        for stored in self._t.invoices.values():
            invoice = stored.invoice
            if (stored.billing_key or "").endswith(
                f"|{REGULAR}"
            ) and invoice.status is not InvoiceStatus.DRAFT:
                sub = invoice.subscription_id
                through[sub] = max(through.get(sub, invoice.period.end), invoice.period.end)
        return through

    def drafted(self, keys: Sequence[str]) -> dict[str, Invoice]:
        return {
            stored.billing_key: replace(stored.invoice, lines=())
            for stored in self._t.invoices.values()
            if stored.billing_key is not None and stored.billing_key in keys
        }

    def _thresholds(self) -> list[Invoice]:
        issued = [
            s.invoice
            for s in self._t.invoices.values()
            if s.invoice.kind is InvoiceKind.THRESHOLD and s.invoice.status in BILLED_STATUSES
        ]
        return sorted(issued, key=lambda invoice: invoice.issued_at or datetime.min.replace(tzinfo=UTC))

    def threshold_invoices(self, subscription_id: str, period: Period) -> list[ThresholdInvoice]:
        return [
            ThresholdInvoice(i.id, i.number or "", i.subtotal.amount, i.tax.amount)
            for i in self._thresholds()
            if i.subscription_id == subscription_id and i.period.start == period.start
        ]

    def all_threshold_invoices(self) -> dict[tuple[str, datetime], list[ThresholdInvoice]]:
        found: dict[tuple[str, datetime], list[ThresholdInvoice]] = {}
        for i in self._thresholds():
            found.setdefault((i.subscription_id, i.period.start), []).append(
                ThresholdInvoice(i.id, i.number or "", i.subtotal.amount, i.tax.amount)
            )
        return found

    def count_kind(self, subscription_id: str, period: Period, kind: InvoiceKind) -> int:
        return sum(
            1
            for s in self._t.invoices.values()
            if s.invoice.subscription_id == subscription_id
            and s.invoice.kind is kind
            and s.invoice.period.start == period.start
        )

    def usage_billed_overlapping(self, subscription_id: str, period: Period) -> list[Invoice]:
        found = [
            s.invoice
            for s in self._issued_regular()
            if s.invoice.subscription_id == subscription_id and _overlaps(_period(s.invoice), period)
        ]
        return sorted(found, key=lambda invoice: invoice.period.start)

    def corrections_of(self, invoice_id: str) -> Decimal:
        return sum(
            (
                line.amount.amount
                for s in self._t.invoices.values()
                if s.invoice.status is not InvoiceStatus.VOID
                for line in s.invoice.lines
                if line.corrects_invoice_id == invoice_id and line.event_ids
            ),
            ZERO,
        )

    def subscriptions_billed_overlapping(self, customer_id: str, period: Period) -> set[str]:
        return {
            s.invoice.subscription_id
            for s in self._issued_regular()
            if s.invoice.customer_id == customer_id and _overlaps(_period(s.invoice), period)
        }


class FakeLateUsage:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    def add(self, usage: LateUsage, *, cause: str, detected_at: datetime) -> bool:
        if usage.id in self._t.late:
            return False
        self._t.late[usage.id] = StoredLate(usage, cause, detected_at)
        return True

    def pending(self) -> dict[str, list[LateUsage]]:
        waiting = sorted(
            (s for s in self._t.late.values() if s.applied_invoice_id is None),
            key=lambda s: (s.detected_at, s.usage.id),
        )
        found: dict[str, list[LateUsage]] = {}
        for stored in waiting:
            found.setdefault(stored.usage.customer, []).append(
                replace(stored.usage, applied_by=frozenset(self.accounted(stored.usage.id)))
            )
        return found

    def record_applied(self, late_ids: Sequence[str], subscription_id: str, invoice_id: str) -> None:
        for late_id in late_ids:
            if (late_id, subscription_id) in self._t.late_applied:
                raise Conflict(f"late usage {late_id} already applied by {subscription_id}")
            self._t.late_applied[(late_id, subscription_id)] = invoice_id

    def periods(self, late_ids: Sequence[str]) -> list[tuple[str, Period]]:
        return [
            (late_id, self._t.late[late_id].usage.period) for late_id in late_ids if late_id in self._t.late
        ]

    def accounted(self, late_id: str) -> set[str]:
        return {subscription for (late, subscription) in self._t.late_applied if late == late_id}

    def mark_done(self, late_id: str, invoice_id: str) -> None:
        self._t.late[late_id].applied_invoice_id = invoice_id


class FakeControls:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    def all(self) -> dict[str, Controls]:
        return dict(self._t.controls)

    def get(self, subscription_id: str) -> Controls | None:
        return self._t.controls.get(subscription_id)

    def put(self, controls: Controls, *, now: datetime) -> None:
        self._t.controls[controls.subscription_id] = controls


class FakeAlertFirings:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    def fire_once(self, subscription_id: str, alert: str, period_start: datetime, *, at: datetime) -> bool:
        if (subscription_id, alert, period_start) in self._t.firings:
            return False
        self._t.firings.add((subscription_id, alert, period_start))
        return True


class FakeBillingRuns:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    def start(self, run: RunRecord) -> None:
        if run.id in self._t.runs:
            raise Conflict(f"run {run.id} exists")
        self._t.runs[run.id] = run

    def finish(self, run: RunRecord) -> None:
        self._t.runs[run.id] = run

    def recent(self, *, after: RunKey | None, limit: int) -> list[RunRecord]:
        newest = sorted(self._t.runs.values(), key=lambda run: (run.started_at, run.id), reverse=True)
        return [
            run for run in newest if after is None or (run.started_at, run.id) < (after.started_at, after.id)
        ][:limit]


class FakeLogos:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    def put(self, entity_id: str, logo: bytes, *, now: datetime) -> None:
        self._t.logos[entity_id] = logo

    def get(self, entity_id: str) -> bytes:
        return self._t.logos.get(entity_id, b"")


class FakeDeliveries:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    def add(self, delivery: Delivery) -> None:
        if delivery.id in self._t.deliveries:
            raise Conflict(f"delivery {delivery.id} exists")
        self._t.deliveries[delivery.id] = delivery

    def get(self, delivery_id: str) -> Delivery | None:
        return self._t.deliveries.get(delivery_id)

    def lease_due(self, now: datetime, *, until: datetime, limit: int) -> list[Delivery]:
        due = sorted(
            (
                d
                for d in self._t.deliveries.values()
                if d.state is DeliveryState.PENDING
                and d.next_attempt_at is not None
                and d.next_attempt_at <= now
                and self._t.leases.get(d.id, now) <= now
            ),
            key=lambda d: d.next_attempt_at or now,
        )[:limit]
        for delivery in due:
            self._t.leases[delivery.id] = until
        return due

    def record(self, delivery: Delivery, attempt: Attempt) -> None:
        self._t.leases.pop(delivery.id, None)
        self._t.deliveries[delivery.id] = delivery

    def find(self, document_id: str, *, after: DeliveryKey | None, limit: int) -> list[Delivery]:
        newest = sorted(self._t.deliveries.values(), key=lambda d: (d.created_at, d.id), reverse=True)
        return [
            d
            for d in newest
            if (not document_id or d.document_id == document_id)
            and (after is None or (d.created_at, d.id) < (after.created_at, after.id))
        ][:limit]


class FakeTransaction:
    """Every repository over one private copy of the tables; ``commit`` makes the copy the tables."""

    def __init__(self, owner: FakeTransactions, tables: Tables) -> None:
        self._owner = owner
        self._tables = tables
        self.invoices = FakeInvoices(tables)
        self.payments = FakePayments(tables)
        self.numbers = FakeNumberSeries(tables)
        self.ledger = FakeCreditLedger(tables)
        self.inbox = FakeInbox(tables)
        self.outbox = FakeOutbox(tables)
        self.credit_notes = FakeCreditNotes(tables)
        self.billed = FakeBilledInvoices(tables)
        self.late_usage = FakeLateUsage(tables)
        self.controls = FakeControls(tables)
        self.alert_firings = FakeAlertFirings(tables)
        self.runs = FakeBillingRuns(tables)
        self.logos = FakeLogos(tables)
        self.deliveries = FakeDeliveries(tables)

    def commit(self) -> None:
        self._owner.tables = copy.deepcopy(self._tables)
        self._owner.commits += 1


class FakeTransactions:
    """The Transactions port in memory: each transaction works on its own copy of the tables, one at a time (as
    SQLite's write lock has it), so none sees another's uncommitted writes or loses them."""

    def __init__(self) -> None:
        self.tables = Tables()
        self.commits = 0
        self._one_at_a_time = threading.Lock()

    @contextmanager
    def begin(self) -> Iterator[FakeTransaction]:
        with self._one_at_a_time:
            yield FakeTransaction(self, copy.deepcopy(self.tables))


# ---- peers ---------------------------------------------------------------------------------------------------


@dataclass
class PlanInForce:
    """A plan version a subscription is on from ``since`` (its periods are calendar months)."""

    since: datetime
    plan: PlanVersion
    meters: dict[str, str] = field(default_factory=dict)


def _months_later(moment: datetime, months: int) -> datetime:
    years, month = divmod(moment.month - 1 + months, 12)
    return moment.replace(year=moment.year + years, month=month + 1)


def month_of(at: datetime, *, anniversary: datetime | None = None) -> Period:
    """The monthly period containing ``at``: a calendar month, or months from the ``anniversary`` (day ≤ 28)."""
    origin = anniversary or datetime(2000, 1, 1, tzinfo=UTC)
    months = (at.year - origin.year) * 12 + at.month - origin.month
    if _months_later(origin, months) > at:
        months -= 1
    return Period(_months_later(origin, months), _months_later(origin, months + 1))


class FakeCatalog:
    """Catalog's answers: customers, subscriptions on calendar months, the plan in force per period, grants."""

    def __init__(self) -> None:
        self.parties: dict[str, BilledParty] = {}
        self.subscriptions_by_id: dict[str, Subscription] = {}
        self.plans: dict[str, list[PlanInForce]] = {}
        self.refusing: dict[str, str] = {}
        """Subscriptions whose terms catalog cannot resolve, with its reason."""
        self.granted: list[Grant] = []
        self.batch_calls: list[int] = []
        self.terms_asked: list[datetime] = []
        """Every instant terms were asked for."""
        self._anniversaries: dict[str, datetime] = {}

    def subscribe(
        self, subscription: Subscription, *plans: PlanInForce, anniversary: bool = False
    ) -> Subscription:
        """Bills calendar months, or months from the subscription's start with ``anniversary``."""
        self.subscriptions_by_id[subscription.id] = subscription
        self.plans[subscription.id] = list(plans)
        if anniversary and subscription.start_at is not None:
            self._anniversaries[subscription.id] = subscription.start_at
        return subscription

    async def subscriptions(self) -> AsyncIterator[Subscription]:
        for subscription in list(self.subscriptions_by_id.values()):
            yield subscription

    async def subscription(self, subscription_id: str) -> Subscription:
        return self.subscriptions_by_id[subscription_id]

    async def customers(self) -> dict[str, BilledParty]:
        return dict(self.parties)

    async def customer(self, customer_id: str) -> BilledParty:
        return self.parties[customer_id]

    async def terms(self, subscription_id: str, at: datetime) -> BillingTerms:
        self.terms_asked.append(at)
        if subscription_id in self.refusing:
            raise FailedPrecondition(f"catalog: {self.refusing[subscription_id]}")
        period = month_of(at, anniversary=self._anniversaries.get(subscription_id))
        in_force = [p for p in self.plans[subscription_id] if p.since <= period.start] or self.plans[
            subscription_id
        ][:1]
        chosen = in_force[-1]
        subscription = self.subscriptions_by_id[subscription_id]
        return BillingTerms(
            subscription_id,
            subscription.customer_id,
            chosen.plan.currency,
            period,
            chosen.plan,
            dict(chosen.meters),
        )

    async def batch_terms(
        self, lookups: Sequence[tuple[str, datetime]]
    ) -> list[BillingTerms | BaseException]:
        self.batch_calls.append(len(lookups))
        answers: list[BillingTerms | BaseException] = []
        for subscription_id, at in lookups:
            try:
                answers.append(await self.terms(subscription_id, at))
            except FailedPrecondition as exc:
                answers.append(exc)
        return answers

    async def grants(self, customer_id: str = "") -> list[Grant]:
        return [g for g in self.granted if not customer_id or g.customer_id == customer_id]


@dataclass(frozen=True)
class UsageEvent:
    customer: str
    meter_id: str
    at: datetime
    value: Decimal = Decimal(1)
    group: tuple[tuple[str, str], ...] = ()


class FakeMetering:
    """Metering's answers from a list of events: quantities summed per group, values in event order."""

    def __init__(self) -> None:
        self.events: list[UsageEvent] = []
        self.usage_calls = 0

    def record(self, customer: str, meter_id: str, *moments: datetime, value: Decimal = Decimal(1)) -> None:
        self.events.extend(UsageEvent(customer, meter_id, at, value) for at in moments)

    def _of(self, query: UsageQuery) -> list[UsageEvent]:
        return sorted(
            (
                e
                for e in self.events
                if e.customer == query.customer
                and e.meter_id == query.meter_id
                and query.period.start <= e.at < query.period.end
            ),
            key=lambda e: e.at,
        )

    async def watermark(self) -> int:
        """How many events were recorded so far, plus one: like SQLite's next event id."""
        return len(self.events) + 1

    async def usage(self, queries: Sequence[UsageQuery]) -> list[GroupedQuantity]:
        self.usage_calls += 1
        answers = []
        for query in queries:
            grouped: GroupedQuantity = {}
            for event in self._of(query):
                key = tuple(sorted((k, v) for k, v in event.group if k in query.group_by))
                grouped[key] = grouped.get(key, ZERO) + event.value
            answers.append(grouped)
        return answers

    async def values(self, query: UsageQuery) -> list[Decimal]:
        return [event.value for event in self._of(query)]
