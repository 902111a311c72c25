"""How a posting attempt ends and what follows: retry with backoff, give up, or fail for good (pure)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from tally.erp_sync.domain import SyncState


class PostingError(Exception):
    """A call to an ERP failed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Retryable(PostingError):
    """Timeouts, dropped connections, 5xx, rate limits: the same call may succeed later."""

    def __init__(
        self, message: str, *, retry_after_s: float | None = None, maybe_applied: bool = True
    ) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.maybe_applied = maybe_applied
        """False only when the ERP said it did nothing (429); otherwise the write may have landed."""


class Rejected(PostingError):
    """The ERP refused the document as invalid (a validation error): retrying the same call fails again."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 12
    base_s: float = 0.5
    cap_s: float = 60.0

    def delay_s(self, attempt: int, retry_after_s: float | None, draw: Callable[[], float]) -> float:
        """Exponential backoff with full jitter (``draw`` in [0, 1)), never sooner than Retry-After."""
        ceiling = min(self.cap_s, self.base_s * 2 ** max(0, attempt - 1))
        return max(retry_after_s or 0.0, ceiling * draw())


@dataclass(frozen=True)
class Transition:
    """Where a record goes after an attempt."""

    state: SyncState
    last_error: str = ""
    next_attempt_at: datetime | None = None
    verify: bool = False
    """Look the document up in the ERP before the next attempt: the last one may have written it."""
    erp_internal_id: str | None = None


def posted(erp_internal_id: str) -> Transition:
    return Transition(SyncState.POSTED, erp_internal_id=erp_internal_id)


def after_failure(
    error: Exception,
    *,
    attempt: int,
    verify: bool,
    now: datetime,
    policy: RetryPolicy,
    draw: Callable[[], float],
) -> Transition:
    """A rejected document fails with the ERP's message; a retryable failure waits, then tries again, until
    the attempts run out. An unexpected error counts as retryable with an unknown outcome."""
    if isinstance(error, Rejected):
        return Transition(SyncState.FAILED, last_error=error.message, verify=verify)
    retry_after = error.retry_after_s if isinstance(error, Retryable) else None
    maybe_applied = error.maybe_applied if isinstance(error, Retryable) else True
    message = error.message if isinstance(error, PostingError) else f"{type(error).__name__}: {error}"
    if attempt >= policy.max_attempts:
        return Transition(
            SyncState.FAILED, last_error=f"gave up after {attempt} attempts: {message}", verify=True
        )
    delay = policy.delay_s(attempt, retry_after, draw)
    return Transition(
        SyncState.PENDING,
        last_error=message,
        next_attempt_at=now + timedelta(seconds=delay),
        verify=verify or maybe_applied,
    )
