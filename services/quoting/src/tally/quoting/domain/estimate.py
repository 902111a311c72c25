"""A quote's estimated invoices: every billing period of the term drafted the way invoicing drafts it.

This module's one job is that estimate, and it follows invoicing's billing run rule for rule, on the same
``tally.pricing`` and ``tally.money`` functions, so that usage equal to the assumptions is billed to the cent
as estimated:
1. an OPENING invoice at the start bills the first period's fees in advance (only if the plan has any),
   prorated to the term, with credit burned as of the start;
2. the invoice closing each billing period (catalog's periods: ``tally.pricing.cycles``, the terms resolved
   at the period's start, or at the start of the term for the first) bills the period's usage and in-arrears
   fees, and, when the term goes on, the next period's in-advance fees at the terms in force then
   (``with_advance_fees_of``); fees are prorated by seconds to the term [start, end);
3. ``price_plan`` applies included usage, discounts, minimum and maximum; R1 rounds each line, R2 taxes each
   rounded line at the customer's rate; prepaid credit burns against the total after tax, as of the period's
   last instant.
It is a candidate for a shared library function beside invoicing's drafting, which it mirrors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum

from tally.domain.errors import InvalidArgument
from tally.money import line_tax, round_line
from tally.pricing import (
    BillingTiming,
    BreakdownLine,
    Charge,
    ChargeUsage,
    CreditGrant,
    FlatPrice,
    LineKind,
    Period,
    PlanVersion,
    burn,
    fee_quantity,
    price_plan,
)
from tally.pricing.cycles import add_months, cycle_period

ZERO = Decimal(0)
FOREVER = datetime(9999, 1, 1)
"""Where an open-ended term's active interval ends, as invoicing's."""
OPEN_ENDED_MONTHS = 12
"""An open-ended quote is estimated over the billing periods starting in its first year."""


class EstimatedLineKind(Enum):
    """Invoice line kinds, as invoicing prints them (its MAXIMUM cap is an ADJUSTMENT line)."""

    RECURRING = "RECURRING"
    USAGE = "USAGE"
    DISCOUNT = "DISCOUNT"
    MINIMUM_TRUE_UP = "MINIMUM_TRUE_UP"
    ADJUSTMENT = "ADJUSTMENT"
    CREDIT = "CREDIT"


_KINDS = {
    LineKind.RECURRING: EstimatedLineKind.RECURRING,
    LineKind.USAGE: EstimatedLineKind.USAGE,
    LineKind.DISCOUNT: EstimatedLineKind.DISCOUNT,
    LineKind.MINIMUM_TRUE_UP: EstimatedLineKind.MINIMUM_TRUE_UP,
    LineKind.MAXIMUM: EstimatedLineKind.ADJUSTMENT,
}


@dataclass(frozen=True)
class EstimatedLine:
    """One line: amount rounded once (R1), tax on the rounded amount (R2); credit lines are untaxed."""

    kind: EstimatedLineKind
    description: str
    amount: Decimal
    tax: Decimal
    charge_id: str = ""
    quantity: Decimal | None = None
    breakdown: tuple[BreakdownLine, ...] = ()
    service_period: Period | None = None


@dataclass(frozen=True)
class EstimatedInvoice:
    opening: bool
    """The invoice at the start billing the first period's fees in advance."""
    period_index: int
    """1-based billing period of the term."""
    period: Period
    lines: tuple[EstimatedLine, ...]
    subtotal: Decimal
    tax: Decimal
    credits_applied: Decimal

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.tax

    @property
    def amount_due(self) -> Decimal:
        return max(self.total - self.credits_applied, ZERO)


@dataclass(frozen=True)
class Estimate:
    currency: str
    invoices: tuple[EstimatedInvoice, ...]
    credit_remaining: Decimal


@dataclass(frozen=True)
class Schedule:
    """The subscription the quote would become, as billing sees it: term and billing cycle."""

    start: datetime
    end: datetime | None
    """None: open-ended."""
    cycle_months: int
    anniversary: bool

    @property
    def active(self) -> Period:
        return Period(self.start, self.end or FOREVER.replace(tzinfo=self.start.tzinfo))

    def period_at(self, at: datetime) -> Period:
        return cycle_period(self.start, self.cycle_months, anniversary=self.anniversary, at=at)


TermsAt = Callable[[datetime], PlanVersion]
"""The engine plan in force at an instant (``tally.quoting.domain.terms.terms_at``)."""
UsageIn = Callable[[int, datetime], Mapping[str, ChargeUsage]]
"""Usage per usage charge for the n-th billing period, whose terms are those in force at the instant given."""


def _in_advance(charge: Charge) -> bool:
    return isinstance(charge.price, FlatPrice) and charge.price.timing is BillingTiming.IN_ADVANCE


def advance_fees(plan: PlanVersion) -> PlanVersion:
    """The plan's in-advance fees with the discounts on them: what an opening invoice bills."""
    fees = tuple(charge for charge in plan.charges if _in_advance(charge))
    ids = {charge.id for charge in fees}
    return PlanVersion(plan.currency, fees, discounts=tuple(d for d in plan.discounts if d.charge_id in ids))


def with_advance_fees_of(closing: PlanVersion, following: PlanVersion) -> PlanVersion:
    """What the invoice closing a period prices: ``closing``'s usage charges, in-arrears fees, discounts,
    minimum and maximum, with ``following``'s in-advance fees (and the discounts on them) instead of its own."""
    kept = tuple(charge for charge in closing.charges if not _in_advance(charge))
    kept_ids = {charge.id for charge in kept}
    fees = advance_fees(following)
    if kept_ids & {charge.id for charge in fees.charges}:
        raise InvalidArgument.field(
            "plan_version_id", "a charge is billed in arrears in one period and in advance in the next"
        )
    discounts = tuple(d for d in closing.discounts if d.charge_id is None or d.charge_id in kept_ids)
    return replace(closing, charges=kept + fees.charges, discounts=discounts + fees.discounts)


@dataclass
class _Drafting:
    """The running state of one estimate: the credit left to burn."""

    currency: str
    tax_rate_percent: Decimal | None
    active: Period
    grants: tuple[CreditGrant, ...]

    def draft(
        self,
        plan: PlanVersion,
        period: Period,
        usage: Mapping[str, ChargeUsage],
        advance_period: Period | None,
        credits_as_of: datetime,
    ) -> tuple[tuple[EstimatedLine, ...], Decimal, Decimal, Decimal]:
        """(lines, subtotal, tax, credits applied) of the invoice closing ``period``."""
        recurring: dict[str, Decimal] = {}
        served_by: dict[str, Period] = {}
        for charge in plan.charges:
            if not isinstance(charge.price, FlatPrice):
                continue
            served = period if charge.price.timing is BillingTiming.IN_ARREARS else advance_period
            if served is None:
                continue
            periods = fee_quantity(charge.price, served, self.active)
            if periods > 0:
                recurring[charge.id] = periods
                served_by[charge.id] = served
        lines = []
        for line in price_plan(plan, usage, recurring).lines:
            amount = round_line(line.amount, self.currency)
            rate = self.tax_rate_percent
            lines.append(
                EstimatedLine(
                    kind=_KINDS[line.kind],
                    description=line.description,
                    amount=amount,
                    tax=ZERO if rate is None else line_tax(amount, rate, self.currency),
                    charge_id=line.charge_id or "",
                    quantity=line.quantity,
                    breakdown=line.breakdown,
                    service_period=served_by.get(line.charge_id or "", period),
                )
            )
        subtotal = sum((line.amount for line in lines), ZERO)
        tax = sum((line.tax for line in lines), ZERO)
        burned = burn(self.grants, max(subtotal + tax, ZERO), credits_as_of)
        self.grants = burned.grants
        for entry in burned.entries:
            lines.append(
                EstimatedLine(
                    EstimatedLineKind.CREDIT, f"Prepaid credit ({entry.grant_id})", -entry.amount, ZERO
                )
            )
        return tuple(lines), subtotal, tax, burned.applied


def estimate(
    schedule: Schedule,
    terms_at: TermsAt,
    usage_in: UsageIn,
    *,
    currency: str,
    tax_rate_percent: Decimal | None,
    prepaid_credit: CreditGrant | None = None,
) -> Estimate:
    """Every invoice the quote's subscription would get over its term (its first year if open-ended)."""
    active = schedule.active
    drafting = _Drafting(currency, tax_rate_percent, active, (prepaid_credit,) if prepaid_credit else ())
    invoices = []
    first = schedule.period_at(schedule.start)
    opening = advance_fees(terms_at(schedule.start))
    if opening.charges:
        lines, subtotal, tax, credits = drafting.draft(opening, first, {}, first, schedule.start)
        invoices.append(EstimatedInvoice(True, 1, first, lines, subtotal, tax, credits))
    horizon = active.end if schedule.end is not None else add_months(schedule.start, OPEN_ENDED_MONTHS)
    cursor, index = schedule.start, 1
    while cursor < active.end and cursor < horizon:
        at = max(cursor, schedule.start)
        plan = terms_at(at)
        period = schedule.period_at(at)
        advance: Period | None = None
        if period.end < active.end:
            following = terms_at(period.end)
            if advance_fees(following).charges:
                advance = schedule.period_at(period.end)
                plan = with_advance_fees_of(plan, following)
        last_instant = period.end - timedelta(microseconds=1)
        lines, subtotal, tax, credits = drafting.draft(
            plan, period, usage_in(index, at), advance, last_instant
        )
        invoices.append(EstimatedInvoice(False, index, period, lines, subtotal, tax, credits))
        cursor, index = period.end, index + 1
    remaining = sum((grant.remaining for grant in drafting.grants), ZERO)
    return Estimate(currency, tuple(invoices), remaining)
