"""The credit ledger's RPCs (GetCreditBalance, ListCreditLedger) between the wire and its use cases."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from tally.api.common.v1 import money_pb2, pagination_pb2
from tally.api.invoicing.v1 import invoicing_service_pb2 as pb
from tally.domain.errors import InvalidArgument
from tally.invoicing.credit_ledger.domain import Entry
from tally.invoicing.credit_ledger.handlers import CreditLedger
from tally.mesh.wire import decimal_to_wire, timestamp_to_wire
from tally.persistence.paging import decode_time_key, page_of, page_size, time_key

_PAGE_TOKEN = "page.page_token"


def _money(amount: Decimal, currency: str) -> money_pb2.Money:
    return money_pb2.Money(amount=decimal_to_wire(amount), currency=currency)


def _after(token: str) -> tuple[datetime, str] | None:
    decoded = decode_time_key(token)
    return None if decoded is None else decoded


def _entry_to_wire(entry: Entry) -> pb.CreditLedgerEntry:
    return pb.CreditLedgerEntry(
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


class CreditLedgerRpcs:
    def __init__(self, ledger: CreditLedger) -> None:
        self._ledger = ledger

    async def balance(self, request: pb.GetCreditBalanceRequest) -> pb.GetCreditBalanceResponse:
        balance = await self._ledger.balance(request.customer_id)
        reply = pb.GetCreditBalanceResponse()
        total = balance.total
        if total is not None:
            reply.balance.CopyFrom(_money(total.amount, total.currency))
        for grant, left in balance.grants:
            usable = pb.CreditGrantBalance(
                credit_grant_id=grant.id,
                remaining=_money(left, grant.amount.currency),
                cost_basis=decimal_to_wire(grant.cost_basis),
            )
            if grant.expires_at is not None:
                usable.expires_at.CopyFrom(timestamp_to_wire(grant.expires_at))
            reply.grants.append(usable)
        return reply

    async def entries(self, request: pb.ListCreditLedgerRequest) -> pb.ListCreditLedgerResponse:
        if not request.customer_id:
            raise InvalidArgument.field("customer_id", "is required")
        limit = page_size(request.page.page_size)
        found = await self._ledger.entries(
            request.customer_id, after=_after(request.page.page_token), limit=limit + 1
        )
        page, token = page_of(found, limit, lambda entry: time_key(entry.occurred_at, entry.id))
        return pb.ListCreditLedgerResponse(
            entries=[_entry_to_wire(entry) for entry in page],
            page=pagination_pb2.PageResponse(next_page_token=token),
        )
