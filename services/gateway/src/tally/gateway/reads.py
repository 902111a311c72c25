"""Reads for a customer (API and portal) and for the finance console, composed from the other services.

Every read checks the viewer first: a customer's key or link reaches only its own customer's data.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tally.api.catalog.v1 import catalog_service_pb2 as cat
from tally.api.common.v1 import pagination_pb2, period_pb2
from tally.api.invoicing.v1 import invoicing_service_pb2 as inv
from tally.api.metering.v1 import metering_service_pb2 as met
from tally.domain.errors import InvalidArgument
from tally.gateway.domain.access import Viewer
from tally.gateway.domain.periods import monthly_recurring, previous_period
from tally.gateway.events import as_json
from tally.gateway.peers import Peers
from tally.gateway.webhook_store import WebhookStore
from tally.mesh.wire import timestamp_to_wire

WINDOWS = {"hour": met.WINDOW_HOUR, "day": met.WINDOW_DAY}
BILLED = (cat.SUBSCRIPTION_STATUS_ACTIVE, cat.SUBSCRIPTION_STATUS_CANCELED)
"""Subscriptions with an open period to preview (a canceled one is billed up to its cancellation)."""


def _period(start: datetime, end: datetime) -> period_pb2.Period:
    return period_pb2.Period(start=timestamp_to_wire(start), end=timestamp_to_wire(end))


def _month(now: datetime) -> tuple[datetime, datetime]:
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end


@dataclass(frozen=True)
class CostToDate:
    previews: list[inv.Invoice]

    def as_json(self) -> dict[str, Any]:
        return {"invoices": [as_json(invoice) for invoice in self.previews]}


class CustomerReads:
    def __init__(self, peers: Peers, webhooks: WebhookStore) -> None:
        self._peers = peers
        self._webhooks = webhooks

    async def customer(self, viewer: Viewer, reference: str) -> cat.Customer:
        """The customer named by id or external id, if this viewer may see it (else PermissionDenied)."""
        if viewer.customer_id is not None and reference in ("", "me"):
            reference = viewer.customer_id
        customer = await self._peers.customer(reference)
        viewer.ensure_may_read(customer.id)
        return customer

    async def cost_to_date(self, customer: cat.Customer) -> CostToDate:
        subscriptions = [s for s in await self._peers.subscriptions(customer.id) if s.status in BILLED]
        previews = await asyncio.gather(*(self._peers.preview(s.id) for s in subscriptions))
        return CostToDate(list(previews))

    async def usage(
        self, customer: cat.Customer, *, window: str, period: tuple[datetime, datetime] | None = None
    ) -> dict[str, Any]:
        """Per meter: the current and previous period, bucketed by ``window``, and each period's total."""
        if window not in WINDOWS:
            raise InvalidArgument.field("window", f"must be one of {sorted(WINDOWS)}, got {window!r}")
        meters, cost = await asyncio.gather(self._peers.meters(), self.cost_to_date(customer))
        if period is None:
            if cost.previews:
                first = cost.previews[0].period
                period = (first.start.ToDatetime(tzinfo=UTC), first.end.ToDatetime(tzinfo=UTC))
            else:
                period = _month(datetime.now(UTC))
        before = previous_period(*period)
        queries = []
        for meter in meters:
            for span in (period, before):
                for bucket in (WINDOWS[window], met.WINDOW_UNSPECIFIED):
                    queries.append(
                        met.UsageQuery(
                            customer=customer.external_id,
                            meter_id=meter.id,
                            period=_period(*span),
                            window=bucket,
                        )
                    )
        results = await self._peers.usage(queries)
        series = []
        for index, meter in enumerate(meters):
            current, current_total, previous, previous_total = results[index * 4 : index * 4 + 4]
            series.append(
                {
                    "meter": {"id": meter.id, "key": meter.key, "name": meter.name},
                    "current": _points(current.buckets),
                    "previous": _points(previous.buckets),
                    "current_total": _total(current_total.buckets),
                    "previous_total": _total(previous_total.buckets),
                }
            )
        return {
            "customer_id": customer.id,
            "window": window,
            "period": {"start": period[0].isoformat(), "end": period[1].isoformat()},
            "previous_period": {"start": before[0].isoformat(), "end": before[1].isoformat()},
            "meters": series,
            "cost_to_date": cost.as_json(),
        }

    async def invoices(
        self, customer: cat.Customer, *, status: int = 0, page_token: str = ""
    ) -> inv.ListInvoicesResponse:
        return await self._peers.invoices(
            inv.ListInvoicesRequest(
                customer_id=customer.id,
                status=status,  # type: ignore[arg-type]
                page=pagination_pb2.PageRequest(page_size=50, page_token=page_token),
            )
        )

    async def invoice(self, viewer: Viewer, invoice_id: str) -> inv.Invoice:
        invoice = await self._peers.invoice(invoice_id)
        viewer.ensure_may_read(invoice.customer_id)
        return invoice

    async def invoice_pdf(self, viewer: Viewer, invoice_id: str) -> inv.GetInvoicePdfResponse:
        await self.invoice(viewer, invoice_id)
        return await self._peers.invoice_pdf(invoice_id)

    async def credit(self, customer: cat.Customer) -> dict[str, Any]:
        balance, ledger = await asyncio.gather(
            self._peers.credit_balance(customer.id), self._peers.credit_ledger(customer.id)
        )
        running = Decimal(0)
        burn_down = []
        for entry in ledger:
            running += Decimal(entry.amount.amount)
            burn_down.append(
                {"at": entry.occurred_at.ToDatetime(tzinfo=UTC).isoformat(), "balance": format(running, "f")}
            )
        return {
            "balance": as_json(balance.balance),
            "grants": [as_json(grant) for grant in balance.grants],
            "ledger": [as_json(entry) for entry in ledger],
            "burn_down": burn_down,
        }

    async def quotes(self, customer: cat.Customer) -> list[dict[str, Any]]:
        return [as_json(quote) for quote in await self._peers.quotes(customer.id)]

    async def quote(self, viewer: Viewer, quote_id: str) -> dict[str, Any]:
        quote = await self._peers.quote(quote_id)
        viewer.ensure_may_read(quote.customer_id)
        return as_json(quote)

    async def alerts(self, customer: cat.Customer, limit: int = 20) -> list[dict[str, Any]]:
        messages = await asyncio.to_thread(self._webhooks.messages, customer.id, "alert.triggered", limit)
        return [json.loads(message.body) for message in messages]

    async def monthly_recurring(self, customer: cat.Customer) -> tuple[Decimal, str]:
        """MRR of the customer's active subscriptions: flat fees per month, in the first fee's currency."""
        subscriptions = [
            s
            for s in await self._peers.subscriptions(customer.id)
            if s.status == cat.SUBSCRIPTION_STATUS_ACTIVE
        ]
        fees: list[tuple[Decimal, str]] = []
        currency = customer.currency
        for subscription, terms in zip(
            subscriptions,
            await asyncio.gather(*(self._peers.terms(s.id) for s in subscriptions)),
            strict=True,
        ):
            cycle = cat.BillingCycle.Name(subscription.billing_cycle).removeprefix("BILLING_CYCLE_")
            for fee in terms.recurring_fees:
                if fee.price.HasField("flat"):
                    currency = fee.price.currency or currency
                    fees.append((Decimal(fee.price.flat.amount), cycle))
        return monthly_recurring(fees), currency


def _points(buckets: Any) -> list[list[Any]]:
    return [[bucket.window.start.ToDatetime(tzinfo=UTC).isoformat(), bucket.quantity] for bucket in buckets]


def _total(buckets: Any) -> str:
    return str(sum((Decimal(bucket.quantity) for bucket in buckets), Decimal(0)))
