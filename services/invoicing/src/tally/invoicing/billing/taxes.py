"""Tax engines: which rate applies to an invoice line (pure). The default is the customer's own rate (or none if
exempt); a jurisdiction-aware engine (per product tax codes, an external service's answers fetched before
drafting) plugs in behind the same interface, so drafting stays pure."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from tally.invoicing.domain import LineKind


@dataclass(frozen=True, slots=True)
class BilledCustomer:
    """Who is billed, as far as the amounts care."""

    id: str
    currency: str
    tax_rate_percent: Decimal | None
    """Percent, e.g. Decimal(20); None for a tax-exempt customer (lines carry no tax rate)."""


class TaxEngine(Protocol):
    def rate(self, customer: BilledCustomer, charge_id: str, kind: LineKind) -> Decimal | None:
        """Percent for the line (e.g. Decimal(20)); None when the line is not taxed."""
        ...


class CustomerRate:
    """Every line at the customer's rate; none for an exempt customer."""

    def rate(self, customer: BilledCustomer, charge_id: str, kind: LineKind) -> Decimal | None:
        return customer.tax_rate_percent


class RatesByCharge:
    """Per-charge rates (e.g. a reduced rate on one product), the customer's rate for the rest; an exempt
    customer pays none on any line."""

    def __init__(self, rates: dict[str, Decimal]) -> None:
        self._rates = dict(rates)

    def rate(self, customer: BilledCustomer, charge_id: str, kind: LineKind) -> Decimal | None:
        if customer.tax_rate_percent is None:
            return None
        return self._rates.get(charge_id, customer.tax_rate_percent)
