"""The invoice core's ports: the repositories its use cases read and write through, and the transaction binding
them. Protocols: the stores implement them, the unit tests fake them, and the use cases import neither."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from decimal import Decimal
from typing import Protocol, TypeVar

from tally.invoicing.credit_ledger.ports import CreditLedgerRepository
from tally.invoicing.domain import Invoice, InvoiceFilter, InvoiceKey, OutboxMessage, Payment

Tx_co = TypeVar("Tx_co", covariant=True)
Tx = TypeVar("Tx")
T = TypeVar("T")


class Transactions(Protocol[Tx_co]):
    def begin(self) -> AbstractContextManager[Tx_co]:
        """A new transaction: what it wrote is kept only if the use case commits it before leaving; leaving
        without committing (returning early or raising) rolls everything back."""
        ...


async def read(transactions: Transactions[Tx], query: Callable[[Tx], T]) -> T:
    """What ``query`` reads in a transaction of its own, off the event loop (the stores block); nothing it does
    is committed."""

    def run() -> T:
        with transactions.begin() as tx:
            return query(tx)

    return await asyncio.to_thread(run)


class InvoiceRepository(Protocol):
    def get(self, invoice_id: str, *, for_update: bool = False, lines: bool = True) -> Invoice | None:
        """The invoice with its lines (``lines=False``: without), locked until the transaction ends when
        ``for_update``."""
        ...

    def find(self, where: InvoiceFilter, *, after: InvoiceKey | None, limit: int) -> list[Invoice]:
        """Invoices newest first, without lines, starting after ``after``."""
        ...

    def add(self, invoices: Sequence[tuple[str, Invoice]], *, now: datetime) -> None:
        """Stores new invoices with their lines, each under its billing key."""
        ...

    def replace(self, invoices: Sequence[tuple[str, Invoice]], *, now: datetime) -> None:
        """Rewrites stored DRAFTs (same ids) with these invoices and their lines."""
        ...

    def finalize(self, invoice: Invoice, *, now: datetime) -> None:
        """Stores a DRAFT's number, FINALIZED status, issue and due dates."""
        ...

    def void(self, invoice_id: str, *, now: datetime) -> bool:
        """FINALIZED → VOID (voided now); False if the invoice is not FINALIZED."""
        ...

    def settle(self, invoice: Invoice, *, now: datetime) -> None:
        """Stores what credit notes and payments took off the invoice, its status and paid_at."""
        ...

    def open_of_customer(self, customer_id: str) -> list[Invoice]:
        """The customer's FINALIZED and PARTIALLY_PAID invoices without lines, oldest issued first."""
        ...


class PaymentRepository(Protocol):
    def add(self, payment: Payment, *, now: datetime) -> bool:
        """Records the payment; False if its ``payment_id`` was recorded before."""
        ...

    def amounts(self, invoice_id: str) -> list[Decimal]:
        """Every payment recorded against the invoice."""
        ...


class NumberSeries(Protocol):
    def take(self, series: str, count: int = 1) -> int:
        """Reserves ``count`` consecutive values of ``series`` (a new series starts at 1) and returns the first.

        Call it as the transaction's first statement (see ``tally.invoicing.numbering``); ``count=0`` reserves
        nothing but takes the same lock."""
        ...


class Inbox(Protocol):
    def claim(self, consumer: str, msg_id: str) -> bool:
        """True the first time ``consumer`` sees ``msg_id``; False for a redelivery."""
        ...


class Outbox(Protocol):
    def add(self, message: OutboxMessage) -> None:
        """Published after, and only if, the transaction commits."""
        ...

    def add_many(self, messages: Sequence[OutboxMessage]) -> None:
        """``add`` for many messages without headers of their own, at once."""
        ...


class EntityLogos(Protocol):
    """Each issuing legal entity's logo, as catalog last served it (printed on its documents)."""

    def put(self, entity_id: str, logo: bytes, *, now: datetime) -> None:
        """Keeps the entity's logo (empty: it has none)."""
        ...

    def get(self, entity_id: str) -> bytes:
        """The entity's logo; empty when it has none or was never seen."""
        ...


class InvoiceTransaction(Protocol):
    """One transaction over the invoice core: invoices, payments, numbers, credit, logos, inbox and outbox."""

    @property
    def invoices(self) -> InvoiceRepository: ...

    @property
    def payments(self) -> PaymentRepository: ...

    @property
    def numbers(self) -> NumberSeries: ...

    @property
    def ledger(self) -> CreditLedgerRepository: ...

    @property
    def logos(self) -> EntityLogos: ...

    @property
    def inbox(self) -> Inbox: ...

    @property
    def outbox(self) -> Outbox: ...

    def commit(self) -> None: ...


class InvoiceCounters(Protocol):
    """The invoice metrics (``tally.invoices.drafted``, ``tally.invoices.finalized``), counted by the use cases and
    recorded by the wire layer (``counters.py``)."""

    def drafted(self, count: int) -> None: ...

    def finalized(self, count: int) -> None: ...


class Uncounted:
    """Counts nothing: use cases built without telemetry (unit tests)."""

    def drafted(self, count: int) -> None:
        pass

    def finalized(self, count: int) -> None:
        pass
