"""The forecast use cases: an open period's invoice at period end (beside PreviewInvoice), when prepaid credit
runs out, and the next months' recurring revenue per customer and in total.

Each usage charge's daily usage (metering, the last ``history_days``) goes through the forecaster; the expected,
low and high quantities are priced with the subscription's own terms by ``tally.pricing`` and rounded per line
as an invoice is, so a forecast is in money the customer will recognise, tiers and minimums included.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Protocol

import numpy as np

from tally.api.catalog.v1 import catalog_service_pb2 as cat
from tally.api.invoicing.v1 import invoicing_service_pb2 as inv
from tally.domain.errors import FailedPrecondition
from tally.insights.billing_terms import active_interval, charges_usage, period_fees
from tally.insights.forecasting import Forecaster
from tally.money import line_tax, parse_decimal, round_line
from tally.pricing import (
    BillingTerms,
    ChargeUsage,
    EventValues,
    FlatPrice,
    MatrixPrice,
    MatrixUsage,
    MatrixUsageEntry,
    PercentagePrice,
    Period,
    PlanVersion,
    price_plan,
)
from tally.pricing_wire import terms_from_wire

ZERO = Decimal(0)
DAY = timedelta(days=1)
PARALLEL = 8


class DailyUsage(Protocol):
    async def daily(
        self, queries: Sequence[tuple[str, str, datetime, datetime]]
    ) -> list[list[tuple[datetime, float]]]: ...

    async def values(self, customer: str, meter_id: str, start: datetime, end: datetime) -> list[Decimal]: ...

    async def quantities(
        self, queries: Sequence[tuple[str, str, datetime, datetime, tuple[str, ...]]]
    ) -> list[dict[tuple[tuple[str, str], ...], Decimal]]: ...


class SubscriptionReader(Protocol):
    async def subscription(self, subscription_id: str) -> cat.Subscription: ...

    def subscriptions(self, customer_id: str = "") -> AsyncIterator[cat.Subscription]: ...

    async def terms(self, lookups: Sequence[tuple[str, datetime]]) -> list[cat.EffectiveTerms | str]: ...

    async def customers(self) -> list[cat.Customer]: ...


class PreviewReader(Protocol):
    async def preview(self, subscription_id: str) -> inv.Invoice: ...

    async def credit_balance(self, customer_id: str) -> inv.GetCreditBalanceResponse: ...


@dataclass(frozen=True, slots=True)
class Range:
    expected: Decimal
    low: Decimal
    high: Decimal


@dataclass(frozen=True, slots=True)
class ChargeOutlook:
    charge_id: str
    meter_id: str
    so_far: Decimal
    quantity: Range
    amount: Range


@dataclass(frozen=True, slots=True)
class InvoiceOutlook:
    preview: inv.Invoice
    currency: str
    subtotal: Range
    total: Range
    charges: tuple[ChargeOutlook, ...]
    credit_balance: Decimal
    credit_runs_out_at: datetime | None


@dataclass(frozen=True, slots=True)
class MonthOutlook:
    month: Period
    revenue: Range


@dataclass(frozen=True, slots=True)
class CustomerOutlook:
    customer_id: str
    customer: str
    currency: str
    months: tuple[MonthOutlook, ...]


@dataclass
class RevenueOutlook:
    customers: list[CustomerOutlook] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def totals(self) -> list[tuple[Period, dict[str, Decimal]]]:
        months: dict[tuple[datetime, datetime], dict[str, Decimal]] = {}
        for customer in self.customers:
            for month in customer.months:
                per = months.setdefault((month.month.start, month.month.end), {})
                per[customer.currency] = per.get(customer.currency, ZERO) + month.revenue.expected
        return [(Period(start, end), per) for (start, end), per in sorted(months.items())]


def _day(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _month_after(moment: datetime) -> datetime:
    first = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first + timedelta(days=32)).replace(day=1)


def _decimal(value: float) -> Decimal:
    return Decimal(f"{max(value, 0.0):.6f}")


@dataclass(frozen=True, slots=True)
class _Series:
    """One usage charge's daily usage: complete days of history, ready to forecast."""

    timestamps: np.ndarray
    values: np.ndarray

    def forecaster(self) -> Forecaster | None:
        return Forecaster(self.timestamps, self.values) if self.values.size >= 2 else None

    def total(self, start: datetime, end: datetime) -> float:
        inside = (self.timestamps >= int(start.timestamp())) & (self.timestamps < int(end.timestamp()))
        return float(self.values[inside].sum())


def _ahead(series: _Series, days: int) -> np.ndarray:
    """Expected, low and high of each of the next ``days`` days (3 × days); a too-short history extrapolates
    its mean."""
    if days <= 0:
        return np.zeros((3, 0))
    forecaster = series.forecaster()
    if forecaster is None:
        mean = float(series.values.mean()) if series.values.size else 0.0
        return np.tile(np.array([[mean], [mean], [mean]]), days)
    points = forecaster.forecast(days)
    return np.array([[p.value for p in points], [p.low for p in points], [p.high for p in points]])


def _price(
    plan: PlanVersion,
    usage: Mapping[str, ChargeUsage],
    recurring: Mapping[str, Decimal],
    tax_rate: Decimal | None,
) -> tuple[Decimal, Decimal, dict[str, Decimal]]:
    """(subtotal, tax, amount per charge), each line rounded and taxed as an invoice line (R1, R2)."""
    priced = price_plan(plan, usage, recurring)
    subtotal = tax = ZERO
    by_charge: dict[str, Decimal] = {}
    for line in priced.lines:
        amount = round_line(line.amount, plan.currency)
        subtotal += amount
        if tax_rate is not None:
            tax += line_tax(amount, tax_rate, plan.currency)
        if line.charge_id:
            by_charge[line.charge_id] = by_charge.get(line.charge_id, ZERO) + amount
    return subtotal, tax, by_charge


def _scaled_usage(charge_usage: ChargeUsage, factor: Decimal) -> ChargeUsage:
    """Usage of a matrix or percentage price scaled by ``factor`` (its shape kept: groups, event order)."""
    if isinstance(charge_usage, MatrixUsage):
        return MatrixUsage(
            tuple(MatrixUsageEntry(e.dimension_values, e.quantity * factor) for e in charge_usage.entries)
        )
    if isinstance(charge_usage, EventValues):
        return EventValues(tuple(v * factor for v in charge_usage.values))
    return charge_usage


def closing_fees(plan: PlanVersion, period: Period, active: Period) -> dict[str, Decimal]:
    """The fees the invoice closing ``period`` bills: in-arrears fees for the period itself, in-advance fees
    for the following one (taken as long as this one), each prorated to the subscription's active interval."""
    following = Period(period.end, period.end + (period.end - period.start))
    return period_fees(plan, period, active, in_advance_for=following)


class InvoiceForecaster:
    def __init__(
        self,
        catalog: SubscriptionReader,
        usage: DailyUsage,
        invoicing: PreviewReader,
        *,
        history_days: int = 91,
    ) -> None:
        self._catalog = catalog
        self._usage = usage
        self._invoicing = invoicing
        self._history = timedelta(days=history_days)

    async def _history_of(self, customer: str, terms: BillingTerms, until: datetime) -> dict[str, _Series]:
        charges = terms.usage_charges()
        answers = await self._usage.daily(
            [(customer, terms.meters[c.id], _day(until) - self._history, _day(until)) for c in charges]
        )
        found: dict[str, _Series] = {}
        for charge, days in zip(charges, answers, strict=True):
            stamps = np.array([int(d.timestamp()) for d, _ in days], dtype=np.int64)
            values = np.array([v for _, v in days], dtype=np.float64)
            found[charge.id] = _Series(stamps, values)
        return found

    async def forecast(self, subscription_id: str, now: datetime) -> InvoiceOutlook:
        preview = await self._invoicing.preview(subscription_id)
        (found,) = await self._catalog.terms([(subscription_id, now)])
        if isinstance(found, str):
            raise FailedPrecondition(f"catalog: {found}")
        terms = terms_from_wire(found)
        customer = preview.customer_external_id or terms.customer_id
        period = terms.period
        history = await self._history_of(customer, terms, now)
        today = _day(now)
        days_left = max(0, int((period.end - today) / DAY))
        tax_rate = next(
            (
                parse_decimal(line.tax_rate_percent, field="preview.lines.tax_rate_percent")
                for line in preview.lines
                if line.tax_rate_percent
            ),
            None,
        )
        recurring = closing_fees(
            terms.plan, period, active_interval(await self._catalog.subscription(subscription_id))
        )
        carried = [
            line
            for line in preview.lines
            if line.kind == inv.INVOICE_LINE_KIND_ADJUSTMENT and line.corrects_invoice_id
        ]
        carried_subtotal = sum((parse_decimal(c.amount.amount, field="amount") for c in carried), ZERO)
        carried_tax = sum((parse_decimal(c.tax.amount, field="tax") for c in carried), ZERO)

        so_far: dict[str, Decimal] = {}
        ahead: dict[str, np.ndarray] = {}
        for charge in terms.usage_charges():
            series = history[charge.id]
            so_far[charge.id] = _decimal(series.total(period.start, today))
            ahead[charge.id] = _ahead(series, days_left)
        shaped = await self._shaped_usage(customer, terms, period.start, today)

        def usage_at(which: int, days: int) -> dict[str, ChargeUsage]:
            usage: dict[str, ChargeUsage] = {}
            for charge in terms.usage_charges():
                quantity = so_far[charge.id] + _decimal(float(ahead[charge.id][which, :days].sum()))
                if isinstance(charge.price, MatrixPrice | PercentagePrice):
                    base = so_far[charge.id]
                    factor = quantity / base if base > 0 else Decimal(1)
                    usage[charge.id] = _scaled_usage(shaped[charge.id], factor)
                else:
                    usage[charge.id] = quantity
            return usage

        priced = [_price(terms.plan, usage_at(which, days_left), recurring, tax_rate) for which in range(3)]
        charges = tuple(
            ChargeOutlook(
                charge.id,
                terms.meters[charge.id],
                so_far[charge.id],
                Range(*(so_far[charge.id] + _decimal(float(ahead[charge.id][w].sum())) for w in range(3))),
                Range(*(priced[w][2].get(charge.id, ZERO) for w in range(3))),
            )
            for charge in terms.usage_charges()
        )
        subtotal = Range(*(priced[w][0] + carried_subtotal for w in range(3)))
        total = Range(*(priced[w][0] + priced[w][1] + carried_subtotal + carried_tax for w in range(3)))
        balance_reply = await self._invoicing.credit_balance(preview.customer_id or terms.customer_id)
        balance = (
            parse_decimal(balance_reply.balance.amount, field="balance")
            if balance_reply.HasField("balance") and balance_reply.balance.amount
            else ZERO
        )
        runs_out = None
        if balance > 0:
            runs_out = self._credit_runs_out(
                balance,
                today,
                period,
                days_left,
                lambda d: _price(terms.plan, usage_at(0, d), recurring, tax_rate),
            )
        return InvoiceOutlook(preview, terms.currency, subtotal, total, charges, balance, runs_out)

    async def _shaped_usage(
        self, customer: str, terms: BillingTerms, start: datetime, end: datetime
    ) -> dict[str, ChargeUsage]:
        """The period's usage so far of matrix and percentage prices, in their own shape (groups, events)."""
        shaped = [c for c in terms.usage_charges() if isinstance(c.price, MatrixPrice | PercentagePrice)]
        return await charges_usage(terms, shaped, customer, self._usage, start, end)

    @staticmethod
    def _credit_runs_out(
        balance: Decimal,
        today: datetime,
        period: Period,
        days_left: int,
        price_after: Callable[[int], tuple[Decimal, Decimal, dict[str, Decimal]]],
    ) -> datetime | None:
        """The first day whose cost to date (after tax) reaches ``balance``; past the period, at the period's
        forecast daily rate, within a year. ``price_after(d)`` prices the period with d more days of usage."""
        for d in range(0, days_left + 1):
            subtotal, tax, _ = price_after(d)
            if subtotal + tax >= balance:
                return today + d * DAY
        subtotal, tax, _ = price_after(days_left)
        period_total = subtotal + tax
        if period_total <= 0:
            return None
        period_days = Decimal((period.end - period.start) / DAY)
        per_day = period_total / period_days
        extra = (balance - period_total) / per_day
        if extra > 366:
            return None
        return period.end + timedelta(days=float(extra))


class RevenueForecaster:
    def __init__(self, catalog: SubscriptionReader, usage: DailyUsage, *, history_days: int = 91) -> None:
        self._catalog = catalog
        self._usage = usage
        self._history = timedelta(days=history_days)

    async def forecast(self, customer_id: str, months: int, now: datetime) -> RevenueOutlook:
        customers = {c.id: c for c in await self._catalog.customers()}
        subscriptions = [
            s
            async for s in self._catalog.subscriptions(customer_id)
            if s.status == cat.SUBSCRIPTION_STATUS_ACTIVE
        ]
        terms = await self._catalog.terms([(s.id, now) for s in subscriptions])
        outlook = RevenueOutlook()
        month_starts = [_month_after(now)]
        for _ in range(months):
            month_starts.append(_month_after(month_starts[-1]))
        windows = [Period(a, b) for a, b in itertools.pairwise(month_starts)]
        gate = asyncio.Semaphore(PARALLEL)
        per_customer: dict[str, list[tuple[str, list[Range]]]] = {}

        async def one(subscription: cat.Subscription, found: cat.EffectiveTerms | str) -> None:
            if isinstance(found, str):
                outlook.skipped.append(f"subscription {subscription.id}: {found}")
                return
            async with gate:
                try:
                    ranges = await self._subscription(
                        subscription, terms_from_wire(found), customers, windows, now
                    )
                except FailedPrecondition as exc:
                    outlook.skipped.append(f"subscription {subscription.id}: {exc}")
                    return
            per_customer.setdefault(subscription.customer_id, []).append((found.currency, ranges))

        await asyncio.gather(*(one(s, t) for s, t in zip(subscriptions, terms, strict=True)))
        for cid, entries in sorted(per_customer.items()):
            currency = entries[0][0]
            months_out = tuple(
                MonthOutlook(
                    window,
                    Range(
                        sum((e[1][i].expected for e in entries if e[0] == currency), ZERO),
                        sum((e[1][i].low for e in entries if e[0] == currency), ZERO),
                        sum((e[1][i].high for e in entries if e[0] == currency), ZERO),
                    ),
                )
                for i, window in enumerate(windows)
            )
            customer = customers.get(cid)
            external = (customer.external_id or cid) if customer is not None else cid
            outlook.customers.append(CustomerOutlook(cid, external, currency, months_out))
        outlook.skipped.sort()
        return outlook

    async def _subscription(
        self,
        subscription: cat.Subscription,
        terms: BillingTerms,
        customers: dict[str, cat.Customer],
        windows: list[Period],
        now: datetime,
    ) -> list[Range]:
        customer = customers.get(terms.customer_id)
        external = (customer.external_id or customer.id) if customer is not None else terms.customer_id
        charges = terms.usage_charges()
        today = _day(now)
        answers = await self._usage.daily(
            [(external, terms.meters[c.id], today - self._history, today) for c in charges]
        )
        horizon = int((windows[-1].end - today) / DAY)
        ahead: dict[str, np.ndarray] = {}
        for charge, days in zip(charges, answers, strict=True):
            series = _Series(
                np.array([int(d.timestamp()) for d, _ in days], dtype=np.int64),
                np.array([v for _, v in days], dtype=np.float64),
            )
            ahead[charge.id] = _ahead(series, horizon)
        active = active_interval(subscription)
        months_per_cycle = {cat.BILLING_CYCLE_QUARTERLY: 3, cat.BILLING_CYCLE_ANNUAL: 12}.get(
            subscription.billing_cycle, 1
        )
        ranges: list[Range] = []
        for window in windows:
            first = int((window.start - today) / DAY)
            last = int((window.end - today) / DAY)
            overlap = min(window.end, active.end) - max(window.start, active.start)
            if overlap <= timedelta(0):
                ranges.append(Range(ZERO, ZERO, ZERO))
                continue
            share = Decimal(overlap.total_seconds()) / Decimal((window.end - window.start).total_seconds())
            recurring = {
                c.id: share / months_per_cycle for c in terms.plan.charges if isinstance(c.price, FlatPrice)
            }
            amounts = []
            for which in range(3):
                usage: dict[str, ChargeUsage] = {
                    c.id: _decimal(float(ahead[c.id][which, first:last].sum()) * float(share))
                    for c in charges
                    if not isinstance(c.price, MatrixPrice | PercentagePrice)
                }
                amounts.append(_price(terms.plan, usage, recurring, None)[0])
            ranges.append(Range(*amounts))
        return ranges
