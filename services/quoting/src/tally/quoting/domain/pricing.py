"""A quote priced: its estimated invoices at the quoted terms and at list, and what the deal is worth."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, DecimalException

from tally.domain.errors import InvalidArgument
from tally.pricing import CreditGrant
from tally.quoting.domain.comparison import quantity_of
from tally.quoting.domain.contract_value import ContractValue, contract_value
from tally.quoting.domain.estimate import Estimate, Schedule, estimate
from tally.quoting.domain.terms import ListedPlan, QuoteTerms, TermsInForce, terms_at, usage_in

PREPAID_GRANT = "prepaid"
"""The id the estimate gives the quote's prepaid credit (catalog grants it under an id of its own)."""


@dataclass(frozen=True)
class PricedQuote:
    estimate: Estimate
    at_list: Estimate
    value: ContractValue


def schedule_of(terms: QuoteTerms) -> Schedule:
    """The billing schedule of the subscription the (validated) terms would become."""
    assert terms.start_at is not None and terms.billing_cycle is not None
    return Schedule(terms.start_at, terms.end_at, terms.billing_cycle.value, terms.anniversary)


def _estimate(terms: QuoteTerms, plan: ListedPlan, tax_rate_percent: Decimal | None) -> Estimate:
    credit = None
    if terms.prepaid_credit:
        credit = CreditGrant(PREPAID_GRANT, terms.prepaid_credit, terms.end_at, Decimal(1))

    resolved: dict[datetime, TermsInForce] = {}

    def in_force(at: datetime) -> TermsInForce:
        # Each period's instant is asked for its plan, its usage and (as the next period's start) its fees.
        if at not in resolved:
            resolved[at] = terms_at(terms, plan, at)
        return resolved[at]

    return estimate(
        schedule_of(terms),
        lambda at: in_force(at).plan,
        lambda index, at: usage_in(terms, in_force(at), index),
        currency=terms.currency,
        tax_rate_percent=tax_rate_percent,
        prepaid_credit=credit,
    )


def price_quote(terms: QuoteTerms, plan: ListedPlan, tax_rate_percent: Decimal | None) -> PricedQuote:
    """The (validated) terms priced over the term; InvalidArgument if its numbers are beyond what Decimal
    arithmetic can carry (rather than an internal error)."""
    try:
        priced = _estimate(terms, plan, tax_rate_percent)
        at_list = _estimate(terms.list_terms(), plan, tax_rate_percent)
    except DecimalException as exc:
        raise InvalidArgument.field(
            "quote", f"its amounts are too large to price ({type(exc).__name__})"
        ) from None
    assert terms.start_at is not None
    return PricedQuote(
        priced, at_list, contract_value(priced, at_list, start=terms.start_at, term_months=terms.term_months)
    )


def assumed_by_period(terms: QuoteTerms, plan: ListedPlan, priced: Estimate) -> dict[int, dict[str, Decimal]]:
    """Per billing period of the estimate, the quantity assumed on each meter of a usage charge (0 if none)."""
    found: dict[int, dict[str, Decimal]] = {}
    for invoice in priced.invoices:
        if invoice.opening:
            continue
        at = max(invoice.period.start, schedule_of(terms).start)
        in_force = terms_at(terms, plan, at)
        usage = usage_in(terms, in_force, invoice.period_index)
        found[invoice.period_index] = {
            meter: quantity_of(usage[charge]) if charge in usage else Decimal(0)
            for charge, meter in in_force.meters.items()
        }
    return found
