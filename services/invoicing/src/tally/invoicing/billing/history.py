"""Billing runs as kept (pure): when each ran, up to when it billed, its counts and the subscriptions it could not
bill, so an operator can see what billing did without having called it."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class RunTrigger(enum.StrEnum):
    RPC = "RPC"
    """RunBilling was called."""
    SCHEDULE = "SCHEDULE"
    """Every TALLY_BILLING_INTERVAL_SECONDS."""


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One billing run; ``finished_at`` is None while it runs."""

    id: str
    trigger: RunTrigger
    as_of: datetime
    started_at: datetime
    finished_at: datetime | None = None
    evaluated: int = 0
    drafted: int = 0
    finalized: int = 0
    failures: tuple[tuple[str, str], ...] = ()
    """(subscription id, why) for each subscription it could not bill."""
    error: str = ""
    """Why the run itself failed before billing every subscription."""


@dataclass(frozen=True, slots=True)
class RunKey:
    """Where a page of runs (newest first) ended."""

    started_at: datetime
    id: str
