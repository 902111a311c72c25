"""Prepaid credit (pure): grants as catalog issued them, the ledger's movements of credit, and what is usable when.

What is left on a grant is the sum of its ledger entries (GRANTED + BURNED + EXPIRED + REVERSED, signed), so the
ledger alone explains every balance.
"""

from __future__ import annotations

import enum
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tally.money import Money
from tally.pricing import CreditGrant, LedgerEntry, burn_order

ZERO = Decimal(0)


class EntryKind(enum.StrEnum):
    GRANTED = "GRANTED"
    BURNED = "BURNED"
    EXPIRED = "EXPIRED"
    REVERSED = "REVERSED"


class GrantOrigin(enum.StrEnum):
    """Where a grant comes from."""

    CATALOG = "CATALOG"
    """Granted in catalog (prepaid or promotional credit), copied here."""
    CREDIT_NOTE = "CREDIT_NOTE"
    """A credit note beyond what its invoice still owed."""
    PAYMENT = "PAYMENT"
    """A payment beyond what its invoice still owed."""


@dataclass(frozen=True, slots=True)
class Grant:
    """Credit granted to a customer: by catalog, or carried beyond an invoice by a credit note or a payment."""

    id: str
    customer_id: str
    amount: Money
    cost_basis: Decimal
    priority: int
    effective_at: datetime
    expires_at: datetime | None
    description: str = ""
    """Printed on the CREDIT line and in the ledger ("Prepaid credit" when empty)."""
    before_tax: bool = False
    """Promotional credit, applied before tax (it lowers the tax base); otherwise applied after tax."""
    origin: GrantOrigin = GrantOrigin.CATALOG

    def usable_at(self, at: datetime) -> bool:
        return self.effective_at <= at and (self.expires_at is None or self.expires_at > at)


@dataclass(frozen=True, slots=True)
class Entry:
    """One movement of credit on a grant; ``amount`` is signed, ``grant_balance_after`` what is left after it."""

    id: str
    customer_id: str
    credit_grant_id: str
    kind: EntryKind
    amount: Money
    grant_balance_after: Money
    invoice_id: str
    """The invoice that burned (or gave back) the credit; empty for a grant."""
    occurred_at: datetime
    description: str


_last_ns = 0


def new_entry_id() -> str:
    """Time-ordered ids, so entries of one instant sort in the order they were made within a process."""
    global _last_ns
    _last_ns = max(time.time_ns(), _last_ns + 1)
    return f"cle_{_last_ns:020d}{uuid.uuid4().hex[:8]}"


def granted(grant: Grant) -> Entry:
    """The GRANTED entry that opens a grant's balance, dated when the grant takes effect."""
    return Entry(
        new_entry_id(),
        grant.customer_id,
        grant.id,
        EntryKind.GRANTED,
        grant.amount,
        grant.amount,
        "",
        grant.effective_at,
        grant.description or "Credit granted",
    )


def expired(grant: Grant, balance: Decimal) -> Entry:
    """The EXPIRED entry taking what is left on an expired grant off its balance, dated when it expired."""
    assert grant.expires_at is not None
    return Entry(
        new_entry_id(),
        grant.customer_id,
        grant.id,
        EntryKind.EXPIRED,
        Money(-balance, grant.amount.currency),
        Money(ZERO, grant.amount.currency),
        "",
        grant.expires_at,
        "Unused credit expired",
    )


def burned(
    *,
    customer_id: str,
    currency: str,
    invoice_id: str,
    invoice_number: str,
    burns: Sequence[LedgerEntry],
    at: datetime,
) -> list[Entry]:
    """One BURNED entry per grant a finalized invoice took credit from."""
    return [
        Entry(
            new_entry_id(),
            customer_id,
            burn.grant_id,
            EntryKind.BURNED,
            Money(-burn.amount, currency),
            Money(burn.remaining_after, currency),
            invoice_id,
            at,
            f"Applied to invoice {invoice_number}",
        )
        for burn in burns
    ]


@dataclass(frozen=True, slots=True)
class Burned:
    """Credit of one grant an invoice still holds."""

    customer_id: str
    credit_grant_id: str
    amount: Money
    """Positive."""


def still_burned(entries: Iterable[Entry]) -> list[Burned]:
    """What an invoice's entries (oldest first) still hold per grant, in the order the grants were first burned:
    its BURNED and REVERSED entries summed; grants given back in full are left out."""
    net: dict[str, Decimal] = {}
    first: dict[str, Entry] = {}
    for entry in entries:
        if entry.kind in (EntryKind.BURNED, EntryKind.REVERSED):
            grant_id = entry.credit_grant_id
            net[grant_id] = net.get(grant_id, ZERO) + entry.amount.amount
            first.setdefault(grant_id, entry)
    return [
        Burned(first[grant_id].customer_id, grant_id, Money(-amount, first[grant_id].amount.currency))
        for grant_id, amount in net.items()
        if amount < 0
    ]


def reversal(burned: Burned, balance: Decimal, *, invoice_id: str, at: datetime, description: str) -> Entry:
    """The REVERSED entry giving ``burned`` back to its grant, which holds ``balance`` before it."""
    return Entry(
        new_entry_id(),
        burned.customer_id,
        burned.credit_grant_id,
        EntryKind.REVERSED,
        burned.amount,
        Money(balance + burned.amount.amount, burned.amount.currency),
        invoice_id,
        at,
        description,
    )


def as_credit(grant: Grant, left: Decimal) -> CreditGrant:
    """The grant as the pricing engine burns it."""
    return CreditGrant(
        grant.id,
        left,
        grant.expires_at,
        grant.cost_basis,
        grant.priority,
        before_tax=grant.before_tax,
        label=grant.description,
    )


def usable(balances: Iterable[tuple[Grant, Decimal]], at: datetime) -> list[tuple[Grant, Decimal]]:
    """The grants in effect at ``at`` with credit left, with what is left on each."""
    return [(grant, left) for grant, left in balances if left > 0 and grant.usable_at(at)]


def in_burn_order(balances: Iterable[tuple[Grant, Decimal]]) -> list[tuple[Grant, Decimal]]:
    return sorted(balances, key=lambda pair: burn_order(as_credit(*pair)))


@dataclass(frozen=True, slots=True)
class CreditBalance:
    """A customer's usable credit: each grant with what is left, in burn order, and the total in the currency
    of the first (a customer's grants are in its billing currency)."""

    grants: tuple[tuple[Grant, Decimal], ...]

    @property
    def total(self) -> Money | None:
        if not self.grants:
            return None
        currency = self.grants[0][0].amount.currency
        return Money(
            sum((left for grant, left in self.grants if grant.amount.currency == currency), ZERO), currency
        )
