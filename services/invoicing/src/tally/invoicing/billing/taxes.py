"""Tax engines: which rate applies to an invoice line. The default is the customer's own rate (or none if
exempt); a jurisdiction-aware engine (per product tax codes, an external service's answers fetched before
drafting) plugs in behind the same interface, so drafting stays pure."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from tally.invoicing.billing.drafting import BilledCustomer
    from tally.invoicing.domain import LineKind


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
