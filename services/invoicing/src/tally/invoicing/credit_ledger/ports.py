"""The credit ledger's ports: what its use cases, and finalizing, billing and voiding, read and write of it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from tally.invoicing.credit_ledger.domain import Entry, Grant


class CreditLedgerRepository(Protocol):
    def has_grant(self, grant_id: str) -> bool: ...

    def add_grant(self, grant: Grant, *, now: datetime) -> None: ...

    def append(self, entries: Sequence[Entry]) -> None: ...

    def balance(self, grant_id: str) -> Decimal:
        """What is left on a grant: the sum of its entries."""
        ...

    def grants_with_balance(self, customer_id: str, currency: str) -> list[tuple[Grant, Decimal]]:
        """The customer's grants in ``currency`` with what is left on each (expired ones included)."""
        ...

    def expired_with_balance(self, before: datetime) -> list[tuple[Grant, Decimal]]:
        """Every grant that expired by ``before`` with credit still on it."""
        ...

    def currencies(self, customer_id: str) -> list[str]:
        """The currencies of the customer's grants."""
        ...

    def customers_with_grants(self, customer_ids: Iterable[str]) -> set[str]:
        """Which of these customers hold a grant at all."""
        ...

    def entries_of_invoice(self, invoice_id: str) -> list[Entry]:
        """The entries that burned or gave back credit for an invoice, oldest first."""
        ...

    def entries(self, customer_id: str, *, after: tuple[datetime, str] | None, limit: int) -> list[Entry]:
        """The customer's entries oldest first, starting after the (occurred_at, id) key ``after``."""
        ...


class LedgerTransaction(Protocol):
    @property
    def ledger(self) -> CreditLedgerRepository: ...

    def commit(self) -> None: ...
