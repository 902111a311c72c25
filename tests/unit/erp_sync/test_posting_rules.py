from datetime import UTC, datetime, timedelta

import pytest

from tally.erp_sync.domain import SyncState
from tally.erp_sync.posting import Rejected, Retryable, RetryPolicy, after_failure

NOW = datetime(2026, 5, 1, tzinfo=UTC)
POLICY = RetryPolicy(max_attempts=5, base_s=1.0, cap_s=8.0)


def test_a_rejected_document_fails_at_once_with_the_erps_message():
    t = after_failure(
        Rejected("INVALID_KEY_OR_REF: bad item"),
        attempt=1,
        verify=False,
        now=NOW,
        policy=POLICY,
        draw=lambda: 0.5,
    )
    assert (t.state, t.last_error, t.next_attempt_at) == (
        SyncState.FAILED,
        "INVALID_KEY_OR_REF: bad item",
        None,
    )


@pytest.mark.parametrize(("attempt", "ceiling"), [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0)])
def test_backoff_is_exponential_with_full_jitter_up_to_the_cap(attempt, ceiling):
    low = after_failure(
        Retryable("503"), attempt=attempt, verify=False, now=NOW, policy=POLICY, draw=lambda: 0.0
    )
    high = after_failure(
        Retryable("503"), attempt=attempt, verify=False, now=NOW, policy=POLICY, draw=lambda: 0.999
    )
    assert low.next_attempt_at == NOW
    assert NOW + timedelta(seconds=ceiling * 0.99) < high.next_attempt_at <= NOW + timedelta(seconds=ceiling)
    assert (high.state, high.last_error) == (SyncState.PENDING, "503")


def test_retry_after_is_a_floor_and_a_429_needs_no_lookup():
    t = after_failure(
        Retryable("429", retry_after_s=30, maybe_applied=False),
        attempt=1,
        verify=False,
        now=NOW,
        policy=POLICY,
        draw=lambda: 0.5,
    )
    assert (t.next_attempt_at, t.verify) == (NOW + timedelta(seconds=30), False)


def test_an_unknown_outcome_makes_the_next_attempt_look_first_and_that_sticks():
    timeout = after_failure(
        Retryable("timed out"), attempt=1, verify=False, now=NOW, policy=POLICY, draw=lambda: 0.5
    )
    assert timeout.verify
    limited = after_failure(
        Retryable("429", maybe_applied=False),
        attempt=2,
        verify=True,
        now=NOW,
        policy=POLICY,
        draw=lambda: 0.5,
    )
    assert limited.verify  # an earlier attempt may still have written it


def test_the_last_attempt_fails_and_an_unexpected_error_counts_as_unknown():
    t = after_failure(Retryable("503"), attempt=5, verify=False, now=NOW, policy=POLICY, draw=lambda: 0.5)
    assert (t.state, t.last_error, t.verify) == (SyncState.FAILED, "gave up after 5 attempts: 503", True)
    odd = after_failure(KeyError("total"), attempt=1, verify=False, now=NOW, policy=POLICY, draw=lambda: 0.5)
    assert (odd.state, odd.last_error, odd.verify) == (SyncState.PENDING, "KeyError: 'total'", True)
