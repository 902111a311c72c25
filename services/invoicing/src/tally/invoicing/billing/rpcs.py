"""Billing's RPCs: runs, previews, billing controls and the credit ledger, between the wire and the use cases."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Engine

from tally.api.common.v1 import money_pb2, pagination_pb2
from tally.api.invoicing.v1 import invoicing_service_pb2 as pb
from tally.domain.errors import FailedPrecondition, InvalidArgument
from tally.invoicing.billing.alerts import AlertOutbox, controls_from_wire, controls_to_wire
from tally.invoicing.billing.peers import Catalog
from tally.invoicing.billing.runs import Billing
from tally.invoicing.credit_ledger import store as ledger
from tally.invoicing.messages import invoice_to_wire
from tally.mesh.wire import decimal_to_wire, timestamp_from_wire, timestamp_to_wire
from tally.persistence.paging import decode_token, encode_token, page_size

_PAGE_TOKEN = "page.page_token"


def _now() -> datetime:
    return datetime.now(UTC)


def _money(amount: Decimal, currency: str) -> money_pb2.Money:
    return money_pb2.Money(amount=decimal_to_wire(amount), currency=currency)


class BillingRpcs:
    def __init__(
        self,
        engine: Engine,
        billing: Billing | None,
        alerts: AlertOutbox,
        catalog: Catalog | None,
        *,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._engine = engine
        self._billing = billing
        self._alerts = alerts
        self._catalog = catalog
        self._clock = clock

    def _needs_peers(self) -> Billing:
        if self._billing is None:
            raise FailedPrecondition(
                "billing needs catalog and metering: set TALLY_CATALOG_TARGET and TALLY_METERING_TARGET"
            )
        return self._billing

    async def run(self, request: pb.RunBillingRequest) -> pb.RunBillingResponse:
        as_of = timestamp_from_wire(request.as_of) if request.HasField("as_of") else None
        result = await self._needs_peers().run(as_of)
        return pb.RunBillingResponse(
            subscriptions_evaluated=result.evaluated,
            invoices_drafted=result.drafted,
            invoices_finalized=result.finalized,
            failures=[pb.BillingFailure(subscription_id=s, reason=r) for s, r in result.failures],
        )

    async def preview(self, request: pb.PreviewInvoiceRequest) -> pb.PreviewInvoiceResponse:
        invoice = await self._needs_peers().preview(request.subscription_id)
        return pb.PreviewInvoiceResponse(invoice=invoice_to_wire(invoice))

    async def set_controls(self, request: pb.SetBillingControlsRequest) -> pb.SetBillingControlsResponse:
        controls = controls_from_wire(request.controls)
        stored = await asyncio.to_thread(self._alerts.set_controls, controls, self._clock())
        return pb.SetBillingControlsResponse(controls=controls_to_wire(stored))

    async def get_controls(self, request: pb.GetBillingControlsRequest) -> pb.GetBillingControlsResponse:
        if not request.subscription_id:
            raise InvalidArgument.field("subscription_id", "is required")
        controls = await asyncio.to_thread(self._alerts.get_controls, request.subscription_id)
        return pb.GetBillingControlsResponse(controls=controls_to_wire(controls))

    async def _sync(self, customer_id: str) -> None:
        if self._catalog is None:
            return
        grants = await self._catalog.grants(customer_id)
        await asyncio.to_thread(self._sync_now, grants)

    def _sync_now(self, grants: list[ledger.Grant]) -> None:
        with self._engine.begin() as conn:
            ledger.sync_grants(conn, grants, now=self._clock())

    async def credit_balance(self, request: pb.GetCreditBalanceRequest) -> pb.GetCreditBalanceResponse:
        if not request.customer_id:
            raise InvalidArgument.field("customer_id", "is required")
        await self._sync(request.customer_id)
        now = self._clock()

        def read() -> list[tuple[ledger.Grant, Decimal]]:
            with self._engine.connect() as conn:
                return ledger.usable_balances(conn, request.customer_id, now)

        usable = await asyncio.to_thread(read)
        reply = pb.GetCreditBalanceResponse()
        if usable:
            currency = usable[0][0].amount.currency
            total = sum((left for grant, left in usable if grant.amount.currency == currency), Decimal(0))
            reply.balance.CopyFrom(_money(total, currency))
        for grant, left in usable:
            balance = pb.CreditGrantBalance(
                credit_grant_id=grant.id,
                remaining=_money(left, grant.amount.currency),
                cost_basis=decimal_to_wire(grant.cost_basis),
            )
            if grant.expires_at is not None:
                balance.expires_at.CopyFrom(timestamp_to_wire(grant.expires_at))
            reply.grants.append(balance)
        return reply

    async def credit_ledger(self, request: pb.ListCreditLedgerRequest) -> pb.ListCreditLedgerResponse:
        if not request.customer_id:
            raise InvalidArgument.field("customer_id", "is required")
        await self._sync(request.customer_id)
        limit = page_size(request.page.page_size)
        after = None
        raw = decode_token(request.page.page_token)
        if raw is not None:
            at, _, entry_id = raw.partition("|")
            try:
                after = (datetime.fromisoformat(at), entry_id)
            except ValueError:
                raise InvalidArgument.field(_PAGE_TOKEN, "is not a page token this service issued") from None

        def read() -> list[ledger.Entry]:
            with self._engine.connect() as conn:
                return ledger.entries(conn, request.customer_id, after=after, limit=limit + 1)

        found = await asyncio.to_thread(read)
        page = found[:limit]
        reply = pb.ListCreditLedgerResponse(
            entries=[
                pb.CreditLedgerEntry(
                    id=entry.id,
                    customer_id=entry.customer_id,
                    credit_grant_id=entry.credit_grant_id,
                    kind=f"CREDIT_LEDGER_ENTRY_KIND_{entry.kind.value}",
                    amount=_money(entry.amount.amount, entry.amount.currency),
                    grant_balance_after=_money(entry.grant_balance_after.amount, entry.amount.currency),
                    invoice_id=entry.invoice_id,
                    occurred_at=timestamp_to_wire(entry.occurred_at),
                    description=entry.description,
                )
                for entry in page
            ]
        )
        if len(found) > limit:
            last = page[-1]
            reply.page.CopyFrom(
                pagination_pb2.PageResponse(
                    next_page_token=encode_token(f"{last.occurred_at.isoformat()}|{last.id}")
                )
            )
        return reply
