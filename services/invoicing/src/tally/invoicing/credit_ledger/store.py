"""The credit ledger in invoicing's tables: grants copied from catalog and every entry on them, in the caller's
transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection, RowMapping

from tally.invoicing.credit_ledger.domain import ZERO, Entry, EntryKind, Grant, GrantOrigin
from tally.invoicing.tables import credit_grants, credit_ledger
from tally.money import Money


def _grant(row: RowMapping) -> Grant:
    return Grant(
        id=row["id"],
        customer_id=row["customer_id"],
        amount=Money(Decimal(row["amount"]), row["currency"]),
        cost_basis=Decimal(row["cost_basis"]),
        priority=row["priority"],
        effective_at=row["effective_at"],
        expires_at=row["expires_at"],
        description=row["description"],
        before_tax=bool(row["before_tax"]),
        origin=GrantOrigin(row["source"]),
    )


def _entry(row: RowMapping) -> Entry:
    currency = row["currency"]
    return Entry(
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


class SqlCreditLedger:
    """The CreditLedgerRepository on one connection. Amounts are decimal strings, summed exactly in Python
    rather than by the database."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def has_grant(self, grant_id: str) -> bool:
        return (
            self._conn.execute(select(credit_grants.c.id).where(credit_grants.c.id == grant_id)).first()
            is not None
        )

    def add_grant(self, grant: Grant, *, now: datetime) -> None:
        self._conn.execute(
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
                description=grant.description,
                before_tax=grant.before_tax,
                source=grant.origin.value,
            )
        )

    def append(self, entries: Sequence[Entry]) -> None:
        for entry in entries:
            self._conn.execute(
                insert(credit_ledger).values(
                    id=entry.id,
                    customer_id=entry.customer_id,
                    credit_grant_id=entry.credit_grant_id,
                    kind=entry.kind.value,
                    amount=str(entry.amount.amount),
                    currency=entry.amount.currency,
                    grant_balance_after=str(entry.grant_balance_after.amount),
                    invoice_id=entry.invoice_id or None,
                    occurred_at=entry.occurred_at,
                    description=entry.description,
                )
            )

    def balance(self, grant_id: str) -> Decimal:
        total = ZERO
        for (amount,) in self._conn.execute(
            select(credit_ledger.c.amount).where(credit_ledger.c.credit_grant_id == grant_id)
        ):
            total += Decimal(amount)
        return total

    def grants_with_balance(self, customer_id: str, currency: str) -> list[tuple[Grant, Decimal]]:
        rows = self._conn.execute(
            select(credit_grants).where(
                credit_grants.c.customer_id == customer_id, credit_grants.c.currency == currency
            )
        ).mappings()
        return [(grant, self.balance(grant.id)) for grant in map(_grant, rows.all())]

    def expired_with_balance(self, before: datetime) -> list[tuple[Grant, Decimal]]:
        rows = self._conn.execute(
            select(credit_grants).where(
                credit_grants.c.expires_at.is_not(None), credit_grants.c.expires_at <= before
            )
        ).mappings()
        return [(grant, left) for grant in map(_grant, rows.all()) if (left := self.balance(grant.id)) > 0]

    def currencies(self, customer_id: str) -> list[str]:
        return list(
            self._conn.execute(
                select(credit_grants.c.currency).where(credit_grants.c.customer_id == customer_id).distinct()
            ).scalars()
        )

    def customers_with_grants(self, customer_ids: Iterable[str]) -> set[str]:
        return set(
            self._conn.execute(
                select(credit_grants.c.customer_id)
                .where(credit_grants.c.customer_id.in_(list(customer_ids)))
                .distinct()
            ).scalars()
        )

    def entries_of_invoice(self, invoice_id: str) -> list[Entry]:
        rows = self._conn.execute(
            select(credit_ledger)
            .where(credit_ledger.c.invoice_id == invoice_id)
            .order_by(credit_ledger.c.occurred_at, credit_ledger.c.id)
        ).mappings()
        return [_entry(row) for row in rows]

    def entries(self, customer_id: str, *, after: tuple[datetime, str] | None, limit: int) -> list[Entry]:
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
        return [_entry(row) for row in self._conn.execute(query).mappings()]
