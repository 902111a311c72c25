"""A quote's estimated invoices: every billing period of the term drafted the way invoicing drafts it.

Each period is drafted by ``tally.pricing.period``, the function invoicing drafts its invoices with, so usage
equal to the assumptions is billed to the cent as estimated. What the estimate adds is the schedule invoicing's
billing runs follow:
1. an OPENING invoice at the start bills the first period's fees in advance (only if the plan has any),
   prorated to the term, with credit burned as of the start;
2. the invoice closing each billing period (catalog's periods: ``tally.pricing.cycles``, the terms resolved
   at the period's start, or at the start of the term for the first) bills the period's usage and in-arrears
   fees, and, when the term goes on, the next period's in-advance fees at the terms in force then; fees are
   prorated by seconds to the term [start, end); credit burns as of the period's last instant;
3. the quote's prepaid credit is bought credit: applied after tax, as invoicing applies a prepaid grant.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from tally.pricing import BreakdownLine, ChargeUsage, CreditGrant, Period, PlanVersion
from tally.pricing.cycles import add_months, cycle_period
from tally.pricing.period import InvoiceLineKind, PeriodInputs, advance_fees, draft_period

ZERO = Decimal(0)
FOREVER = datetime(9999, 1, 1)
"""Where an open-ended term's active interval ends, as invoicing's."""
OPEN_ENDED_MONTHS = 12
"""An open-ended quote is estimated over the billing periods starting in its first year."""


EstimatedLineKind = InvoiceLineKind
"""Invoice line kinds, as invoicing prints them (its MAXIMUM cap is an ADJUSTMENT line)."""


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
        advance_plan: PlanVersion | None = None,
    ) -> tuple[tuple[EstimatedLine, ...], Decimal, Decimal, Decimal]:
        """(lines, subtotal, tax, credits applied) of the invoice closing ``period``."""
        rate = self.tax_rate_percent
        drafted = draft_period(
            PeriodInputs(
                currency=self.currency,
                plan=plan,
                period=period,
                active=self.active,
                usage=usage,
                tax_rate=lambda charge_id, kind: rate,
                advance_period=advance_period,
                advance_plan=advance_plan,
                grants=self.grants,
                credits_as_of=credits_as_of,
            )
        )
        self.grants = drafted.grants_after
        lines = tuple(
            EstimatedLine(
                kind=line.kind,
                description=line.description,
                amount=line.amount.amount,
                tax=line.tax.amount,
                charge_id=line.charge_id,
                quantity=line.quantity,
                breakdown=line.breakdown,
                service_period=line.service_period,
            )
            for line in drafted.lines
        )
        # The quote's credit is prepaid (after tax): the tax base is the subtotal.
        return lines, drafted.subtotal.amount, drafted.tax.amount, drafted.credits_applied.amount


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
        advance_plan: PlanVersion | None = None
        if period.end < active.end:
            following = terms_at(period.end)
            if advance_fees(following).charges:
                advance, advance_plan = schedule.period_at(period.end), following
        last_instant = period.end - timedelta(microseconds=1)
        lines, subtotal, tax, credits = drafting.draft(
            plan, period, usage_in(index, at), advance, last_instant, advance_plan
        )
        invoices.append(EstimatedInvoice(False, index, period, lines, subtotal, tax, credits))
        cursor, index = period.end, index + 1
    remaining = sum((grant.remaining for grant in drafting.grants), ZERO)
    return Estimate(currency, tuple(invoices), remaining)
