"""What a priced quote is worth: total and annual contract value, first-year value, discount against list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from tally.money import round_line
from tally.pricing.cycles import add_months
from tally.quoting.domain.estimate import Estimate

ZERO = Decimal(0)
HUNDRED = Decimal(100)
YEAR_MONTHS = 12


@dataclass(frozen=True)
class ContractValue:
    """Sums of invoice subtotals (before tax and prepaid credit), in the quote's currency."""

    total: Decimal
    """TCV: every invoice of the term."""
    annual: Decimal
    """ACV: TCV per 12 months of term, rounded to the minor unit; the first year's value when open-ended."""
    first_year: Decimal
    """Invoices of the billing periods starting in the first 12 months."""
    list_total: Decimal
    """The same usage over the same term at the plan version's list terms."""
    effective_discount_percent: Decimal
    """1 − total / list_total, in percent to 2 places; 0 when the list total is 0 (negative above list)."""
    tax: Decimal


def _subtotal(estimate: Estimate, before: datetime | None = None) -> Decimal:
    return sum(
        (i.subtotal for i in estimate.invoices if before is None or i.period.start < before),
        ZERO,
    )


def contract_value(
    priced: Estimate, at_list: Estimate, *, start: datetime, term_months: int
) -> ContractValue:
    total = _subtotal(priced)
    first_year = _subtotal(priced, add_months(start, YEAR_MONTHS))
    annual = (
        first_year if term_months == 0 else round_line(total * YEAR_MONTHS / term_months, priced.currency)
    )
    list_total = _subtotal(at_list)
    discount = ZERO
    if list_total > 0:
        discount = ((1 - total / list_total) * HUNDRED).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return ContractValue(
        total=total,
        annual=annual,
        first_year=first_year,
        list_total=list_total,
        effective_discount_percent=discount,
        tax=sum((i.tax for i in priced.invoices), ZERO),
    )
