"""Previews: the invoice the open period will close with if no more usage comes before it ends, computed on every
call and never stored, so a preview on the period's last day equals the invoice finalized after it.

It bills what the closing invoice bills (``BillingRun.preview``): fees for the whole period (prorated only to the
subscription's active interval), usage so far, the minimum commitment as it stands at the period end with that
usage (its line says so), the next period's in-advance fees, threshold invoices netted, pending corrections of
earlier invoices (one ADJUSTMENT line each, naming the invoice and the events), and the credit usable at the
period's last instant, with catalog's grants read live (copied into the ledger first, so a grant made a minute ago
counts).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from tally.domain.errors import InvalidArgument
from tally.invoicing.billing.drafting import invoice_from_draft
from tally.invoicing.billing.ports import BillingTransaction, CatalogPeer
from tally.invoicing.billing.runs import Billing
from tally.invoicing.billing.terms import active_interval
from tally.invoicing.credit_ledger.handlers import copy_grants
from tally.invoicing.domain import Invoice, InvoiceLine, InvoiceStatus, LineKind
from tally.invoicing.ports import Transactions
from tally.pricing import BillingTerms

AT_PERIOD_END = " (at period end, with the usage so far)"


def _now() -> datetime:
    return datetime.now(UTC)


def as_previewed(line: InvoiceLine) -> InvoiceLine:
    """A preview's line as printed: the minimum commitment says it is reckoned at the period end."""
    if line.kind is LineKind.MINIMUM_TRUE_UP:
        return replace(line, description=line.description + AT_PERIOD_END)
    return line


class Previews:
    def __init__(
        self,
        billing: Billing,
        catalog: CatalogPeer,
        transactions: Transactions[BillingTransaction],
        *,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._billing = billing
        self._catalog = catalog
        self._transactions = transactions
        self._clock = clock

    async def preview(self, subscription_id: str, as_of: datetime | None = None) -> Invoice:
        """The invoice-to-be of the period open at ``as_of`` (default now; the last period once the subscription
        ended), with the usage metering holds for it."""
        if not subscription_id:
            raise InvalidArgument.field("subscription_id", "is required")
        now = as_of or self._clock()
        # The subscription and the terms at now (the common case) in one round trip.
        subscription, terms_now = await asyncio.gather(
            self._catalog.subscription(subscription_id),
            self._catalog.terms(subscription_id, now),
            return_exceptions=True,
        )
        if isinstance(subscription, BaseException):
            raise subscription
        active = active_interval(subscription)
        if now < active.start:
            raise InvalidArgument.field("subscription_id", "has not started yet: nothing to preview")
        terms: BillingTerms
        if now < active.end:
            if isinstance(terms_now, BaseException):
                raise terms_now
            terms = terms_now
        else:  # ended or canceled: its last period
            terms = await self._catalog.terms(subscription_id, active.end - timedelta(microseconds=1))
        party, grants = await asyncio.gather(
            self._catalog.customer(subscription.customer_id),
            self._catalog.grants(subscription.customer_id),
        )
        if grants:
            await asyncio.to_thread(copy_grants, self._transactions, grants, now=self._clock())
        draft, pending = await self._billing.run_at(now).preview(subscription, party, terms)
        invoice = invoice_from_draft(
            draft,
            invoice_id="",
            subscription_id=subscription_id,
            customer=party.snapshot,
            status=InvoiceStatus.DRAFT,
            created_at=now,
        )
        return replace(
            invoice,
            lines=tuple(as_previewed(line) for line in invoice.lines),
            issuer=pending.issuer,
            references=pending.references,
        )
