"""A subscription as billing sees it (pure): its status and active interval and the customer it bills (catalog's
answers, read by ``billing.peers``; the terms each billing period is priced with are ``tally.pricing``'s
``BillingTerms``)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from tally.domain.errors import InvalidArgument
from tally.invoicing.billing.taxes import BilledCustomer
from tally.invoicing.domain import CustomerSnapshot, Issuer, References
from tally.pricing import Period


class SubscriptionStatus(enum.StrEnum):
    UNSPECIFIED = "UNSPECIFIED"
    """A status this build does not know."""
    SCHEDULED = "SCHEDULED"
    ACTIVE = "ACTIVE"
    CANCELED = "CANCELED"
    ENDED = "ENDED"


OPEN_ENDED = datetime(9999, 1, 1)
"""Where the active interval of a subscription with no end or cancellation ends."""

BILLED_SUBSCRIPTIONS = frozenset(
    {SubscriptionStatus.ACTIVE, SubscriptionStatus.CANCELED, SubscriptionStatus.ENDED}
)
"""What a billing run bills: a canceled or ended subscription still has periods to close."""


@dataclass(frozen=True, slots=True)
class Subscription:
    id: str
    customer_id: str
    status: SubscriptionStatus
    start_at: datetime | None
    """None when catalog sent none: billing that subscription fails, naming the field."""
    cancel_at: datetime | None = None
    end_at: datetime | None = None
    references: References = field(default_factory=References)
    """The quote, purchase order and contract its invoices refer to."""


def active_interval(subscription: Subscription) -> Period:
    """From the start to the cancellation or end (whichever is first), or far in the future."""
    start = subscription.start_at
    if start is None:
        raise InvalidArgument.field("subscription.start_at", "is missing")
    ends = [moment for moment in (subscription.cancel_at, subscription.end_at) if moment]
    end = min(ends) if ends else OPEN_ENDED.replace(tzinfo=start.tzinfo)
    return Period(start, end)


@dataclass(frozen=True, slots=True)
class BilledParty:
    """A customer as billing needs it."""

    id: str
    external_id: str
    """The id usage events name the customer by (metering's ``customer``)."""
    currency: str
    tax_rate_percent: Decimal | None
    snapshot: CustomerSnapshot
    issuer: Issuer | None = None
    """The legal entity invoicing the customer; None for the install's default issuer."""
    logo: bytes = b""
    """Its issuer's logo (PNG or JPEG), as catalog serves it."""

    @property
    def billed(self) -> BilledCustomer:
        """The customer as drafting and the tax engine see it."""
        return BilledCustomer(self.id, self.currency, self.tax_rate_percent)
