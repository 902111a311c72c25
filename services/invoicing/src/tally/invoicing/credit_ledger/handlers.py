"""Credit ledger use cases: a customer's usable credit and its ledger (grants synced from catalog first), and the
steps finalizing, billing and voiding take on the ledger inside their own transactions."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

from tally.domain.errors import InvalidArgument
from tally.invoicing.credit_ledger.domain import (
    CreditBalance,
    Entry,
    Grant,
    as_credit,
    burned,
    expired,
    granted,
    in_burn_order,
    reversal,
    still_burned,
    usable,
)
from tally.invoicing.credit_ledger.ports import CreditLedgerRepository, LedgerTransaction
from tally.invoicing.domain import Invoice
from tally.invoicing.ports import Transactions, read
from tally.money import Money
from tally.pricing import CreditGrant, LedgerEntry


class GrantSource(Protocol):
    async def grants(self, customer_id: str = "") -> list[Grant]:
        """One customer's credit grants as catalog issued them, or every customer's for an empty id."""
        ...


def _now() -> datetime:
    return datetime.now(UTC)


def record_grants(ledger: CreditLedgerRepository, grants: Iterable[Grant], *, now: datetime) -> int:
    """Records grants not seen before, each with its GRANTED entry; returns how many were new."""
    fresh = 0
    for grant in grants:
        if ledger.has_grant(grant.id):
            continue
        ledger.add_grant(grant, now=now)
        ledger.append([granted(grant)])
        fresh += 1
    return fresh


def copy_grants(
    transactions: Transactions[LedgerTransaction], grants: Iterable[Grant], *, now: datetime
) -> None:
    """``record_grants`` in a transaction of its own (run it in a worker thread)."""
    with transactions.begin() as tx:
        record_grants(tx.ledger, grants, now=now)
        tx.commit()


def expire_grants(transactions: Transactions[LedgerTransaction], *, before: datetime) -> int:
    """Takes what is left on every grant that expired by ``before`` off its balance (one EXPIRED entry each, dated
    when it expired); returns how many. ``before`` lags the clock by the billing grace, so a period that ended
    before a grant expired can still burn it while its invoice is re-rated."""
    with transactions.begin() as tx:
        found = tx.ledger.expired_with_balance(before)
        tx.ledger.append([expired(grant, left) for grant, left in found])
        tx.commit()
        return len(found)


def usable_grants(
    ledger: CreditLedgerRepository, customer_id: str, currency: str, at: datetime
) -> list[CreditGrant]:
    """The customer's grants in ``currency`` usable at ``at``, as the pricing engine burns them."""
    return [
        as_credit(grant, left)
        for grant, left in usable(ledger.grants_with_balance(customer_id, currency), at)
    ]


def record_burns(
    ledger: CreditLedgerRepository, invoice: Invoice, burns: Sequence[LedgerEntry], *, at: datetime
) -> None:
    """One BURNED entry per grant a numbered ``invoice`` takes credit from."""
    ledger.append(
        burned(
            customer_id=invoice.customer_id,
            currency=invoice.currency,
            invoice_id=invoice.id,
            invoice_number=invoice.number or "",
            burns=burns,
            at=at,
        )
    )


def give_back_burns(
    ledger: CreditLedgerRepository,
    invoice_id: str,
    *,
    at: datetime,
    description: str,
    limit: Decimal | None = None,
) -> Decimal:
    """Gives back the credit still burned on ``invoice_id`` (all of it, or up to ``limit``), grant by grant in the
    order they were burned: a REVERSED entry each; returns how much. Giving back twice gives nothing more."""
    given = Decimal(0)
    for held in still_burned(ledger.entries_of_invoice(invoice_id)):
        amount = held.amount.amount if limit is None else min(held.amount.amount, limit - given)
        if amount <= 0:
            break
        part = replace(held, amount=Money(amount, held.amount.currency))
        balance = ledger.balance(held.credit_grant_id)
        ledger.append([reversal(part, balance, invoice_id=invoice_id, at=at, description=description)])
        given += amount
    return given


class CreditLedger:
    """Reads a customer's credit; catalog's grants are copied into the ledger first, so a new grant shows."""

    def __init__(
        self,
        transactions: Transactions[LedgerTransaction],
        catalog: GrantSource | None,
        *,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._transactions = transactions
        self._catalog = catalog
        self._clock = clock

    async def balance(self, customer_id: str) -> CreditBalance:
        """Every grant of the customer usable now (any currency) with what is left, in burn order."""
        await self._sync(customer_id)
        now = self._clock()
        balances = await read(
            self._transactions,
            lambda tx: [
                pair
                for currency in tx.ledger.currencies(customer_id)
                for pair in usable(tx.ledger.grants_with_balance(customer_id, currency), now)
            ],
        )
        return CreditBalance(tuple(in_burn_order(balances)))

    async def entries(
        self, customer_id: str, *, after: tuple[datetime, str] | None, limit: int
    ) -> list[Entry]:
        await self._sync(customer_id)
        return await read(
            self._transactions, lambda tx: tx.ledger.entries(customer_id, after=after, limit=limit)
        )

    async def _sync(self, customer_id: str) -> None:
        if not customer_id:
            raise InvalidArgument.field("customer_id", "is required")
        if self._catalog is None:
            return
        grants = await self._catalog.grants(customer_id)
        await asyncio.to_thread(copy_grants, self._transactions, grants, now=self._clock())
