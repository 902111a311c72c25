"""What one billing period of a subscription is priced with: the plan, the period and each usage charge's meter."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tally.pricing.plan import Charge, PlanVersion
from tally.pricing.recurring import Period


@dataclass(frozen=True, slots=True)
class BillingTerms:
    """One billing period of a subscription and the plan it is priced with (catalog's effective terms)."""

    subscription_id: str
    customer_id: str
    currency: str
    period: Period
    plan: PlanVersion
    meters: Mapping[str, str]
    """Meter id per usage charge id."""

    def usage_charges(self) -> list[Charge]:
        return [charge for charge in self.plan.charges if charge.id in self.meters]
