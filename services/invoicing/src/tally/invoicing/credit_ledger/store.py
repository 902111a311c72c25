"""The prepaid-credit ledger: grants copied from catalog, and every movement of credit on them.

What is left on a grant is the sum of its ledger entries (GRANTED + BURNED + EXPIRED + REVERSED, signed), so
the ledger alone explains every balance. Every function here runs inside the caller's transaction.
"""

from __future__ import annotations

import enum
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

from tally.invoicing.tables import credit_grants, credit_ledger
from tally.money import Money
from tally.pricing import CreditGrant, LedgerEntry, burn_order

ZERO = Decimal(0)


class EntryKind(enum.StrEnum):
    GRANTED = "GRANTED"
    BURNED = "BURNED"
    EXPIRED = "EXPIRED"
    REVERSED = "REVERSED"


@dataclass(frozen=True, slots=True)
class Grant:
    """A credit grant as catalog issued it."""

    id: str
    customer_id: str
    amount: Money
    cost_basis: Decimal
    priority: int
    effective_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class Entry:
    """One stored movement of credit."""

    id: str
    customer_id: str
    credit_grant_id: str
    kind: EntryKind
    amount: Money
    grant_balance_after: Money
    invoice_id: str
    occurred_at: datetime
    description: str


_last_ns = 0


def new_id() -> str:
    """Time-ordered ids, so entries of one instant sort in insertion order within a process."""
    global _last_ns
    _last_ns = max(time.time_ns(), _last_ns + 1)
    return f"cle_{_last_ns:020d}{uuid.uuid4().hex[:8]}"


def balance(conn: Connection, grant_id: str) -> Decimal:
    """What is left on a grant: the sum of its entries."""
    total = ZERO
    for (amount,) in conn.execute(
        select(credit_ledger.c.amount).where(credit_ledger.c.credit_grant_id == grant_id)
    ):
        total += Decimal(amount)
    return total


def _append(
    conn: Connection,
    *,
    customer_id: str,
    grant_id: str,
    kind: EntryKind,
    amount: Decimal,
    currency: str,
    after: Decimal,
    invoice_id: str | None,
    at: datetime,
    description: str,
) -> None:
    conn.execute(
        insert(credit_ledger).values(
            id=new_id(),
            customer_id=customer_id,
            credit_grant_id=grant_id,
            kind=kind.value,
            amount=str(amount),
            currency=currency,
            grant_balance_after=str(after),
            invoice_id=invoice_id,
            occurred_at=at,
            description=description,
        )
    )


def sync_grants(conn: Connection, grants: Iterable[Grant], *, now: datetime) -> int:
    """Records grants not seen before, each with its GRANTED entry; returns how many were new."""
    fresh = 0
    for grant in grants:
        known = conn.execute(select(credit_grants.c.id).where(credit_grants.c.id == grant.id)).first()
        if known is not None:
            continue
        conn.execute(
            insert(credit_grants).values(
                id=grant.id,
                customer_id=grant.customer_id,
                currency=grant.amount.currency,
                amount=str(grant.amount.amount),
                cost_basis=str(grant.cost_basis),
                priority=grant.priority,
                effective_at=grant.effective_at,
                expires_at=grant.expires_at,
                recorded_at=now,
            )
        )
        _append(
            conn,
            customer_id=grant.customer_id,
            grant_id=grant.id,
            kind=EntryKind.GRANTED,
            amount=grant.amount.amount,
            currency=grant.amount.currency,
            after=grant.amount.amount,
            invoice_id=None,
            at=grant.effective_at,
            description="Credit granted",
        )
        fresh += 1
    return fresh


def grants_with_balance(conn: Connection, customer_id: str, currency: str) -> list[tuple[Grant, Decimal]]:
    """The customer's grants in ``currency`` with what is left on each (expired ones included)."""
    # Amounts are decimal strings, summed exactly in Python rather than by the database.
    rows = conn.execute(
        select(credit_grants).where(
            credit_grants.c.customer_id == customer_id, credit_grants.c.currency == currency
        )
    ).mappings()
    found = []
    for row in rows:
        grant = Grant(
            id=row["id"],
            customer_id=row["customer_id"],
            amount=Money(Decimal(row["amount"]), row["currency"]),
            cost_basis=Decimal(row["cost_basis"]),
            priority=row["priority"],
            effective_at=row["effective_at"],
            expires_at=row["expires_at"],
        )
        found.append((grant, balance(conn, grant.id)))
    return found


def usable_grants(conn: Connection, customer_id: str, currency: str, at: datetime) -> list[CreditGrant]:
    """Grants in effect at ``at`` with credit left, as the pricing engine burns them."""
    return [
        CreditGrant(grant.id, left, grant.expires_at, grant.cost_basis, grant.priority)
        for grant, left in grants_with_balance(conn, customer_id, currency)
        if left > 0 and grant.effective_at <= at and (grant.expires_at is None or grant.expires_at > at)
    ]


def usable_balances(conn: Connection, customer_id: str, at: datetime) -> list[tuple[Grant, Decimal]]:
    """Every grant of the customer usable at ``at`` (any currency) with what is left, in burn order."""
    rows = conn.execute(
        select(credit_grants.c.currency).where(credit_grants.c.customer_id == customer_id).distinct()
    ).scalars()
    found = [
        (grant, left)
        for currency in rows.all()
        for grant, left in grants_with_balance(conn, customer_id, currency)
        if left > 0 and grant.effective_at <= at and (grant.expires_at is None or grant.expires_at > at)
    ]
    return sorted(
        found,
        key=lambda pair: burn_order(
            CreditGrant(pair[0].id, pair[1], pair[0].expires_at, pair[0].cost_basis, pair[0].priority)
        ),
    )


def record_burns(
    conn: Connection,
    *,
    customer_id: str,
    currency: str,
    invoice_id: str,
    invoice_number: str,
    entries: Sequence[LedgerEntry],
    at: datetime,
) -> None:
    """One BURNED entry per grant a finalized invoice took credit from."""
    for entry in entries:
        _append(
            conn,
            customer_id=customer_id,
            grant_id=entry.grant_id,
            kind=EntryKind.BURNED,
            amount=-entry.amount,
            currency=currency,
            after=entry.remaining_after,
            invoice_id=invoice_id,
            at=at,
            description=f"Applied to invoice {invoice_number}",
        )


def reverse_burns(conn: Connection, invoice_id: str, *, at: datetime, description: str) -> Decimal:
    """Gives back every credit burned on ``invoice_id`` (a REVERSED entry per BURNED one); returns the total.

    Reversing twice gives back nothing the second time: burns already reversed are skipped.
    """
    rows = conn.execute(
        select(credit_ledger)
        .where(credit_ledger.c.invoice_id == invoice_id)
        .order_by(credit_ledger.c.occurred_at, credit_ledger.c.id)
    ).mappings()
    burned: dict[str, Decimal] = {}
    customer: dict[str, tuple[str, str]] = {}
    for row in rows:
        if row["kind"] in (EntryKind.BURNED.value, EntryKind.REVERSED.value):
            burned[row["credit_grant_id"]] = burned.get(row["credit_grant_id"], ZERO) + Decimal(row["amount"])
            customer[row["credit_grant_id"]] = (row["customer_id"], row["currency"])
    given = ZERO
    for grant_id, net in burned.items():
        if net >= 0:
            continue
        customer_id, currency = customer[grant_id]
        after = balance(conn, grant_id) - net
        _append(
            conn,
            customer_id=customer_id,
            grant_id=grant_id,
            kind=EntryKind.REVERSED,
            amount=-net,
            currency=currency,
            after=after,
            invoice_id=invoice_id,
            at=at,
            description=description,
        )
        given -= net
    return given


def entries(
    conn: Connection, customer_id: str, *, after: tuple[datetime, str] | None, limit: int
) -> list[Entry]:
    """The customer's ledger oldest first, starting after the (occurred_at, id) key ``after``."""
    query = (
        select(credit_ledger)
        .where(credit_ledger.c.customer_id == customer_id)
        .order_by(credit_ledger.c.occurred_at, credit_ledger.c.id)
        .limit(limit)
    )
    if after is not None:
        at, entry_id = after
        query = query.where(
            (credit_ledger.c.occurred_at > at)
            | ((credit_ledger.c.occurred_at == at) & (credit_ledger.c.id > entry_id))
        )
    found = []
    for row in conn.execute(query).mappings():
        currency = row["currency"]
        found.append(
            Entry(
                id=row["id"],
                customer_id=row["customer_id"],
                credit_grant_id=row["credit_grant_id"],
                kind=EntryKind(row["kind"]),
                amount=Money(Decimal(row["amount"]), currency),
                grant_balance_after=Money(Decimal(row["grant_balance_after"]), currency),
                invoice_id=row["invoice_id"] or "",
                occurred_at=row["occurred_at"],
                description=row["description"],
            )
        )
    return found


def count(conn: Connection, customer_id: str) -> int:
    return conn.execute(
        select(func.count()).select_from(credit_ledger).where(credit_ledger.c.customer_id == customer_id)
    ).scalar_one()
