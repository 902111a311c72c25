"""An accepted quote as catalog applies it: the subscription its terms make, once per quote."""

from __future__ import annotations

from dataclasses import dataclass

from tally.catalog.domain.subscriptions import Subscription


@dataclass(frozen=True)
class AcceptedQuote:
    """What QuoteAccepted asks of catalog: a subscription bound to exactly the quoted terms."""

    quote_id: str
    quote_version: int
    subscription: Subscription
    """The terms; its id, version and timestamps are catalog's to set, its quote_id is the quote's."""
