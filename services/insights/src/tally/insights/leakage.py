"""Revenue leakage (pure): the findings, and the amount at stake of a quantity at a charge's price."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum

from tally.money import round_line
from tally.pricing import Charge, MatrixPrice, PercentagePrice, compile_price

ZERO = Decimal(0)


class LeakageKind(Enum):
    UNKNOWN_CUSTOMER = "UNKNOWN_CUSTOMER"
    UNPRICED_METER = "UNPRICED_METER"
    IDLE_USAGE_CHARGE = "IDLE_USAGE_CHARGE"
    SILENT_PRODUCER = "SILENT_PRODUCER"
    REJECTIONS_RISING = "REJECTIONS_RISING"
    METERING_CONFLICT = "METERING_CONFLICT"
    USAGE_MOVED_AFTER_FINALIZATION = "USAGE_MOVED_AFTER_FINALIZATION"


@dataclass(frozen=True, slots=True)
class Finding:
    kind: LeakageKind
    description: str
    customer: str = ""
    meter_id: str = ""
    subscription_id: str = ""
    invoice_id: str = ""
    producer_id: str = ""
    quantity: Decimal | None = None
    amount: Decimal | None = None
    """Revenue at stake, rounded as an invoice line; None when it cannot be priced."""
    currency: str = ""
    since: datetime | None = None


def priced(charge: Charge, quantity: Decimal, currency: str) -> Decimal | None:
    """What ``quantity`` costs at ``charge``'s price (its included quantity not taken off: at stake is what
    the usage is worth), rounded once; None for prices that need more than a quantity (matrix, percentage)."""
    if isinstance(charge.price, MatrixPrice | PercentagePrice):
        return None
    return round_line(compile_price(charge.price).rate(max(quantity, ZERO)).amount, currency)


def rejections_rising(
    recent_rejected: int,
    recent_accepted: int,
    prior_rejected: int,
    prior_accepted: int,
    *,
    min_recent: int = 10,
) -> bool:
    """True when the last day's share of rejected events is at least 1 % and at least twice the share of the
    week before (and rests on ``min_recent`` rejections at least, not on one bad batch of two events)."""
    if recent_rejected < min_recent:
        return False
    recent = recent_rejected / max(recent_rejected + recent_accepted, 1)
    prior = prior_rejected / max(prior_rejected + prior_accepted, 1)
    return recent >= 0.01 and recent >= 2 * prior


def order(findings: list[Finding]) -> list[Finding]:
    """By kind (declaration order), then largest amount at stake first."""
    kinds = list(LeakageKind)
    return sorted(findings, key=lambda f: (kinds.index(f.kind), -(f.amount or ZERO), f.customer, f.meter_id))
