"""An accepted quote as catalog applies it: the customer it may create, the subscription, the prepaid credit."""

from __future__ import annotations

from dataclasses import dataclass

from tally.catalog.domain.customers import CustomerInput
from tally.catalog.domain.subscriptions import Subscription
from tally.money import Money


@dataclass(frozen=True)
class AcceptedQuote:
    """What QuoteAccepted asks of catalog: a subscription bound to exactly the quoted terms, once per quote."""

    quote_id: str
    quote_version: int
    quote_number: str
    subscription: Subscription
    """The terms; its id, version and timestamps are catalog's to set, its customer_id is empty for a prospect."""
    prospect: CustomerInput | None = None
    """The customer to create (or to use, if one with its external id exists) when the quote was for one."""
    prepaid_credit: Money | None = None
    """Credit bought with the quote, granted for the subscription's term."""
