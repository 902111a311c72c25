"""Credit grants: prepaid or promotional credit given to a customer (balances and burns are invoicing's)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tally.domain.errors import FieldViolation, InvalidArgument
from tally.money import Money

MAX_DESCRIPTION_LENGTH = 500


@dataclass(frozen=True)
class CreditGrant:
    """Credit granted once; it burns soonest-expiring first, then lowest cost basis (``tally.pricing.burn``)."""

    id: str
    customer_id: str
    amount: Money
    cost_basis: Decimal
    """Paid per unit of credit: 1.00 bought, 0.00 promotional."""
    expires_at: datetime | None = None
    """None never expires."""
    priority: int = 0
    effective_at: datetime | None = None
    """None: usable at once."""
    description: str = ""
    created_at: datetime | None = None
    promotional: bool = False
    """Applied before tax, like a discount (PROMOTIONAL); otherwise after tax (PREPAID)."""


def validate_credit_grant(grant: CreditGrant, customer_currency: str, path: str = "credit_grant") -> None:
    """Every rule the grant breaks, named under ``path``, in one InvalidArgument."""
    problems: list[FieldViolation] = []
    if grant.amount.amount <= 0:
        problems.append(
            FieldViolation(f"{path}.amount.amount", f"must be greater than 0, got {grant.amount.amount}")
        )
    if grant.amount.currency != customer_currency:
        problems.append(
            FieldViolation(
                f"{path}.amount.currency",
                f"must be the customer's currency {customer_currency}, got {grant.amount.currency}",
            )
        )
    if grant.cost_basis < 0:
        problems.append(FieldViolation(f"{path}.cost_basis", f"must not be negative, got {grant.cost_basis}"))
    if (
        grant.expires_at is not None
        and grant.effective_at is not None
        and grant.expires_at <= grant.effective_at
    ):
        problems.append(FieldViolation(f"{path}.expires_at", "must be after effective_at"))
    if len(grant.description) > MAX_DESCRIPTION_LENGTH:
        problems.append(
            FieldViolation(f"{path}.description", f"must be at most {MAX_DESCRIPTION_LENGTH} characters")
        )
    if problems:
        raise InvalidArgument(problems)
