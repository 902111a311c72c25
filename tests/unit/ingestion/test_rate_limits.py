"""Per-producer token buckets: a batch is admitted whole or refused whole, with the wait that would admit it."""

import pytest

from tally.domain.errors import ResourceExhausted
from tally.ingestion.rate_limits import ProducerRateLimits, Rate


def refusal(limits, producer, events, now):
    with pytest.raises(ResourceExhausted) as raised:
        limits.admit(producer, events, now)
    return raised.value


def test_a_producer_spends_its_burst_then_waits_exactly_as_long_as_refilling_takes():
    limits = ProducerRateLimits(Rate(per_s=100, burst=300), Rate(per_s=0, burst=0))
    limits.admit("p", 200, now=0.0)
    limits.admit("p", 100, now=0.0)
    refused = refusal(limits, "p", 50, now=0.0)
    assert refused.retry_after_s == pytest.approx(0.5)
    assert "nothing of this batch was accepted" in refused.message
    limits.admit("p", 50, now=0.5)  # the refused batch took nothing: exactly 50 have refilled
    assert refusal(limits, "p", 1, now=0.5).retry_after_s == pytest.approx(0.01)


def test_each_producer_has_its_own_buckets():
    limits = ProducerRateLimits(Rate(per_s=10, burst=10), Rate(per_s=0, burst=0))
    limits.admit("a", 10, now=0.0)
    refusal(limits, "a", 1, now=0.0)
    limits.admit("b", 10, now=0.0)


def test_the_batch_rate_refuses_without_spending_events_and_the_longer_wait_wins():
    limits = ProducerRateLimits(Rate(per_s=1000, burst=1000), Rate(per_s=2, burst=1))
    limits.admit("p", 10, now=0.0)
    assert refusal(limits, "p", 10, now=0.0).retry_after_s == pytest.approx(0.5)
    limits.admit("p", 990, now=0.5)  # the refused batch's 10 events were not taken


def test_a_batch_larger_than_the_burst_is_refused_for_good_without_a_retry_delay():
    limits = ProducerRateLimits(Rate(per_s=10, burst=100), Rate(per_s=0, burst=0))
    refused = refusal(limits, "p", 101, now=0.0)
    assert refused.retry_after_s is None
    assert "burst of 100 events" in refused.message


def test_unlimited_rates_admit_anything():
    limits = ProducerRateLimits(Rate(per_s=0, burst=0), Rate(per_s=0, burst=0))
    for _ in range(100):
        limits.admit("p", 10_000, now=0.0)
