"""Previews: the open period's cost to date (arrears fees prorated to now, usage so far, threshold invoices
netted, tax, credits usable now), computed on every call and never stored."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from tally.domain.errors import InvalidArgument
from tally.invoicing.billing.drafting import (
    Draft,
    DraftInputs,
    draft_invoice,
    invoice_from_draft,
)
from tally.invoicing.billing.ports import BillingTransaction, CatalogPeer, MeteringPeer
from tally.invoicing.billing.runs import event_values
from tally.invoicing.billing.terms import BilledParty, active_interval
from tally.invoicing.billing.usage import usage_from_quantities, usage_queries
from tally.invoicing.credit_ledger.handlers import usable_grants
from tally.invoicing.domain import Invoice, InvoiceStatus
from tally.invoicing.ports import Transactions, read
from tally.pricing import Period


def _now() -> datetime:
    return datetime.now(UTC)


def preview_invoice(subscription_id: str, party: BilledParty, draft: Draft, now: datetime) -> Invoice:
    """The draft as an unsaved invoice (no id, no number)."""
    return invoice_from_draft(
        draft,
        invoice_id="",
        subscription_id=subscription_id,
        customer=party.snapshot,
        status=InvoiceStatus.DRAFT,
        created_at=now,
    )


class Previews:
    def __init__(
        self,
        transactions: Transactions[BillingTransaction],
        catalog: CatalogPeer,
        metering: MeteringPeer,
        *,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._transactions = transactions
        self._catalog = catalog
        self._metering = metering
        self._clock = clock

    async def preview(self, subscription_id: str) -> Invoice:
        """Cost to date for the open period of the subscription (its last period once it ended)."""
        if not subscription_id:
            raise InvalidArgument.field("subscription_id", "is required")
        now = self._clock()
        # Three round trips, each as wide as it can be: the subscription with the terms at now (the common
        # case), then the customer, then usage with the local reads. No batching delay on this path.
        terms_now = asyncio.create_task(self._catalog.terms(subscription_id, now))
        terms_now.add_done_callback(
            lambda task: task.cancelled() or task.exception()
        )  # an error is read below
        try:
            subscription = await self._catalog.subscription(subscription_id)
        finally:
            if not terms_now.done():
                await asyncio.wait([terms_now])
        party_task = asyncio.create_task(self._catalog.customer(subscription.customer_id))
        active = active_interval(subscription)
        if now < active.start:
            raise InvalidArgument.field("subscription_id", "has not started yet: nothing to preview")
        if now < active.end and terms_now.exception() is None:
            terms = terms_now.result()
        else:  # ended or canceled: its last period
            terms = await self._catalog.terms(subscription_id, active.end - timedelta(microseconds=1))
        party = await party_task
        period = terms.period
        to_date = Period(period.start, min(now, period.end))
        answers, values, (thresholds, grants) = await asyncio.gather(
            self._metering.usage(usage_queries(terms, party.external_id, to_date)),
            event_values(self._metering, terms, party, to_date),
            read(
                self._transactions,
                lambda tx: (
                    tx.billed.threshold_invoices(subscription_id, period),
                    usable_grants(tx.ledger, party.id, party.currency, now),
                ),
            ),
        )
        draft = draft_invoice(
            DraftInputs(
                customer=party.billed,
                plan=terms.plan,
                period=period,
                # Arrears fees accrue up to now: the active interval is cut at the preview instant.
                active=Period(
                    active.start, max(min(active.end, to_date.end), active.start + timedelta(seconds=1))
                ),
                usage=usage_from_quantities(terms, answers, values),
                threshold_invoices=thresholds,
                grants=grants,
                credits_as_of=now,
                meters=terms.meters,
            )
        )
        return preview_invoice(subscription_id, party, draft, now)
