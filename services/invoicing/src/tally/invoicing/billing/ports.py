"""Billing's ports: its peers (catalog and metering, answering in billing's own terms) and the repositories billing
runs read and write through, beside the invoice core's."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from tally.invoicing.billing.alerts import Controls
from tally.invoicing.billing.drafting import ThresholdInvoice
from tally.invoicing.billing.history import RunKey, RunRecord
from tally.invoicing.billing.terms import BilledParty, Subscription
from tally.invoicing.billing.usage import GroupedQuantity, LateUsage, UsageQuery
from tally.invoicing.credit_ledger.domain import Grant
from tally.invoicing.domain import Invoice, InvoiceKind
from tally.invoicing.ports import InvoiceTransaction
from tally.pricing import BillingTerms, Period


class CatalogPeer(Protocol):
    def subscriptions(self) -> AsyncIterator[Subscription]:
        """Every subscription, page by page."""
        ...

    async def subscription(self, subscription_id: str) -> Subscription: ...

    async def customers(self) -> dict[str, BilledParty]:
        """Every customer by id (a run reads them all at once rather than one by one)."""
        ...

    async def customer(self, customer_id: str) -> BilledParty: ...

    async def terms(self, subscription_id: str, at: datetime) -> BillingTerms:
        """The terms of the billing period containing ``at``; InvalidArgument naming every unreadable field."""
        ...

    async def batch_terms(
        self, lookups: Sequence[tuple[str, datetime]]
    ) -> list[BillingTerms | BaseException]:
        """``terms`` for many (subscription, instant) at once: each answer, or the error of that lookup alone."""
        ...

    async def grants(self, customer_id: str = "") -> list[Grant]:
        """One customer's credit grants, or every customer's for an empty id."""
        ...


class MeteringPeer(Protocol):
    async def watermark(self) -> int:
        """Metering's usage watermark now: taken before usage is read, it lets the period's close report
        exactly the events stored after the read as late."""
        ...

    async def usage(self, queries: Sequence[UsageQuery]) -> list[GroupedQuantity]:
        """One grouped quantity per query, in order."""
        ...

    async def values(self, query: UsageQuery) -> list[Decimal]:
        """The meter's value of each of the customer's events over the period, in event order."""
        ...


class BilledInvoices(Protocol):
    """What billing asks of the invoices it drafted before."""

    def billed_through(self) -> dict[str, datetime]:
        """Per subscription, the end of the last period a REGULAR invoice was issued for (paid and voided ones
        count: their period was billed; a DRAFT does not, it is re-rated until final)."""
        ...

    def drafted(self, keys: Sequence[str]) -> dict[str, Invoice]:
        """The invoices stored under these billing keys (without lines), by key."""
        ...

    def threshold_invoices(self, subscription_id: str, period: Period) -> list[ThresholdInvoice]:
        """The subscription's issued THRESHOLD invoices of the period starting at ``period.start``, oldest first."""
        ...

    def all_threshold_invoices(self) -> dict[tuple[str, datetime], list[ThresholdInvoice]]:
        """``threshold_invoices`` of every subscription and period at once, by (subscription, period start)."""
        ...

    def count_kind(self, subscription_id: str, period: Period, kind: InvoiceKind) -> int: ...

    def usage_billed_overlapping(self, subscription_id: str, period: Period) -> list[Invoice]:
        """The subscription's issued REGULAR invoices overlapping ``period`` that billed usage (opening
        invoices bill fees only), with their lines, oldest first."""
        ...

    def corrections_of(self, invoice_id: str) -> Decimal:
        """What ADJUSTMENT lines on other live invoices already added to ``invoice_id``'s usage."""
        ...

    def subscriptions_billed_overlapping(self, customer_id: str, period: Period) -> set[str]:
        """The customer's subscriptions with an issued invoice of usage overlapping ``period``."""
        ...


class LateUsageRepository(Protocol):
    def add(self, usage: LateUsage, *, cause: str, detected_at: datetime) -> bool:
        """Keeps a UsageLate message once (its id); False for a repeat."""
        ...

    def pending(self) -> dict[str, list[LateUsage]]:
        """Late usage not yet accounted for by every subscription it concerns, per customer, oldest first."""
        ...

    def record_applied(self, late_ids: Sequence[str], subscription_id: str, invoice_id: str) -> None:
        """That ``subscription_id``'s invoice ``invoice_id`` accounts for these late-usage messages."""
        ...

    def periods(self, late_ids: Sequence[str]) -> list[tuple[str, Period]]: ...

    def accounted(self, late_id: str) -> set[str]:
        """The subscriptions that accounted for a late-usage message."""
        ...

    def mark_done(self, late_id: str, invoice_id: str) -> None:
        """Every subscription it concerns has accounted for it; ``invoice_id`` did last."""
        ...


class ControlsRepository(Protocol):
    def all(self) -> dict[str, Controls]: ...

    def get(self, subscription_id: str) -> Controls | None: ...

    def put(self, controls: Controls, *, now: datetime) -> None: ...


class AlertFirings(Protocol):
    def fire_once(self, subscription_id: str, alert: str, period_start: datetime, *, at: datetime) -> bool:
        """Records that the alert fired in the period; False if it had already."""
        ...


class BillingRunLog(Protocol):
    def start(self, run: RunRecord) -> None:
        """Records a run that just started."""
        ...

    def finish(self, run: RunRecord) -> None:
        """Records a run's end: its counts, failures and error."""
        ...

    def recent(self, *, after: RunKey | None, limit: int) -> list[RunRecord]:
        """Runs newest first, with their failures, starting after ``after``."""
        ...


class BillingTransaction(InvoiceTransaction, Protocol):
    @property
    def billed(self) -> BilledInvoices: ...

    @property
    def late_usage(self) -> LateUsageRepository: ...

    @property
    def controls(self) -> ControlsRepository: ...

    @property
    def alert_firings(self) -> AlertFirings: ...

    @property
    def runs(self) -> BillingRunLog: ...
