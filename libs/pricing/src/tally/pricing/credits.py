"""Prepaid credits: burning an amount across grants, soonest-expiring first, one ledger entry per grant."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from tally.domain.errors import FieldViolation, InvalidArgument


@dataclass(frozen=True, slots=True)
class CreditGrant:
    """Credit still available to a customer from one grant."""

    id: str
    remaining: Decimal
    expires_at: datetime | None
    """Unusable from this instant on; None never expires."""
    cost_basis: Decimal
    """What the customer paid per unit of credit: 1.00 bought, 0.00 promotional."""
    priority: int = 0
    """Lower burns first; equal priorities burn by expiry, then cost basis."""
    before_tax: bool = False
    """Promotional credit, applied before tax like a discount (it lowers the tax base); otherwise prepaid credit,
    money already paid, applied to the total after tax."""
    label: str = ""
    """What the credit line says; empty: "Prepaid credit (<id>)" or "Promotional credit (<id>)"."""


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One grant's part of a burn."""

    grant_id: str
    amount: Decimal
    """Credit taken from the grant, > 0."""
    remaining_after: Decimal


class Burn(NamedTuple):
    """The result of ``burn``: unpacks as (applied, entries, grants)."""

    applied: Decimal
    """Credit applied: the amount requested, or everything usable if that is less."""
    entries: tuple[LedgerEntry, ...]
    """One entry per grant touched, in burn order."""
    grants: tuple[CreditGrant, ...]
    """Grants still usable at ``at`` with credit left, in burn order."""


def burn_order(grant: CreditGrant) -> tuple[int, bool, int | datetime, Decimal, str]:
    """Sort key: priority, soonest expiry (none last), lowest cost basis, then id so the order is total."""
    # None and datetime do not compare; the bool already puts never-expiring grants last, so a constant
    # stands in for their expiry and only ever meets another constant.
    never = grant.expires_at is None
    return (
        grant.priority,
        never,
        0 if grant.expires_at is None else grant.expires_at,
        grant.cost_basis,
        grant.id,
    )


def burn(grants: Iterable[CreditGrant], amount: Decimal, at: datetime) -> Burn:
    """Takes up to ``amount`` of credit at instant ``at``; grants expired by then (expires_at ≤ at) are skipped."""
    grants = tuple(grants)
    wrong = []
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount < 0:
        wrong.append(FieldViolation("amount", f"must be a finite Decimal ≥ 0, got {amount!r}"))
    for index, grant in enumerate(grants):
        if not isinstance(grant.remaining, Decimal) or not grant.remaining.is_finite() or grant.remaining < 0:
            wrong.append(
                FieldViolation(f"grants[{index}].remaining", f"must be ≥ 0, got {grant.remaining!r}")
            )
    if wrong:
        raise InvalidArgument(wrong)

    usable = sorted(
        (g for g in grants if g.remaining > 0 and (g.expires_at is None or g.expires_at > at)),
        key=burn_order,
    )
    left = amount
    entries: list[LedgerEntry] = []
    after: list[CreditGrant] = []
    for grant in usable:
        taken = min(left, grant.remaining)
        if taken > 0:
            left -= taken
            entries.append(LedgerEntry(grant.id, taken, grant.remaining - taken))
            grant = replace(grant, remaining=grant.remaining - taken)
        if grant.remaining > 0:
            after.append(grant)
    return Burn(amount - left, tuple(entries), tuple(after))
