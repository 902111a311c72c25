"""A quote against what happened: per billing period, assumed against metered usage and estimated against
invoiced amount, with the variance of each."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from tally.pricing import EventValues, MatrixUsage, Period, Usage
from tally.quoting.domain.estimate import Estimate

ZERO = Decimal(0)
HUNDRED = Decimal(100)


def variance_percent(actual: Decimal, expected: Decimal) -> Decimal | None:
    """(actual − expected) / expected in percent, to 2 places; None when nothing was expected."""
    if expected == 0:
        return None
    return ((actual - expected) / expected * HUNDRED).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def quantity_of(usage: Usage) -> Decimal:
    """The quantity a meter counts for an assumed usage: event values and matrix entries summed."""
    if isinstance(usage, EventValues):
        return sum(usage.values, ZERO)
    if isinstance(usage, MatrixUsage):
        return sum((entry.quantity for entry in usage.entries), ZERO)
    return usage


@dataclass(frozen=True)
class BilledInvoice:
    """One of the subscription's invoices, as the comparison needs it (void invoices left out)."""

    period_start: datetime
    subtotal: Decimal
    number: str
    """Empty for a draft."""


@dataclass(frozen=True)
class UsageComparison:
    meter_id: str
    assumed: Decimal
    metered: Decimal

    @property
    def variance(self) -> Decimal:
        return self.metered - self.assumed


@dataclass(frozen=True)
class PeriodComparison:
    period_index: int
    period: Period
    usage: tuple[UsageComparison, ...]
    estimated: Decimal
    invoiced: Decimal
    invoice_numbers: tuple[str, ...]

    @property
    def variance(self) -> Decimal:
        return self.invoiced - self.estimated


def compare(
    estimate: Estimate,
    billed: Sequence[BilledInvoice],
    assumed: Mapping[int, Mapping[str, Decimal]],
    metered: Mapping[int, Mapping[str, Decimal]],
) -> tuple[PeriodComparison, ...]:
    """One comparison per estimated billing period that has at least one invoice, in period order.

    ``assumed`` and ``metered`` give, per period index, the quantity per meter."""
    periods: dict[int, Period] = {}
    estimated: dict[int, Decimal] = {}
    for draft in estimate.invoices:
        periods[draft.period_index] = draft.period
        estimated[draft.period_index] = estimated.get(draft.period_index, ZERO) + draft.subtotal
    by_start = {period.start: index for index, period in periods.items()}
    invoiced: dict[int, list[BilledInvoice]] = {}
    for invoice in billed:
        index = by_start.get(invoice.period_start)
        if index is not None:
            invoiced.setdefault(index, []).append(invoice)
    found = []
    for index in sorted(invoiced):
        meters = sorted(set(assumed.get(index, {})) | set(metered.get(index, {})))
        found.append(
            PeriodComparison(
                period_index=index,
                period=periods[index],
                usage=tuple(
                    UsageComparison(
                        meter,
                        assumed.get(index, {}).get(meter, ZERO),
                        metered.get(index, {}).get(meter, ZERO),
                    )
                    for meter in meters
                ),
                estimated=estimated[index],
                invoiced=sum((invoice.subtotal for invoice in invoiced[index]), ZERO),
                invoice_numbers=tuple(invoice.number for invoice in invoiced[index] if invoice.number),
            )
        )
    return tuple(found)
