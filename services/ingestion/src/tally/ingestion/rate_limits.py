"""Per-producer rate limits: token buckets on events and on batches, admitting a batch wholly or not at all."""

from __future__ import annotations

from dataclasses import dataclass

from tally.domain.errors import ResourceExhausted


@dataclass(frozen=True, slots=True)
class Rate:
    """A sustained rate and the burst allowed above it (the bucket's size): ``per_s`` 0 means unlimited."""

    per_s: float
    burst: float

    @property
    def unlimited(self) -> bool:
        return self.per_s <= 0


class TokenBucket:
    """Holds up to ``burst`` tokens, refilled at ``per_s`` a second; starts full."""

    def __init__(self, rate: Rate, now: float) -> None:
        self._rate = rate
        self._tokens = rate.burst
        self._at = now

    def wait_for(self, amount: float, now: float) -> float:
        """Seconds until ``amount`` tokens are there (0 when they are now); takes nothing."""
        self._refill(now)
        missing = amount - self._tokens
        return 0.0 if missing <= 0 else missing / self._rate.per_s

    def take(self, amount: float, now: float) -> None:
        self._refill(now)
        self._tokens -= amount

    def _refill(self, now: float) -> None:
        if now > self._at:
            self._tokens = min(self._rate.burst, self._tokens + (now - self._at) * self._rate.per_s)
            self._at = now


class ProducerRateLimits:
    """One pair of buckets (events, batches) per producer, on this replica.

    A batch takes from both buckets or from neither: a refused batch is wholly refused, so nothing of it
    is stored, published or counted, and the caller resends the same batch after the delay it was told.
    """

    def __init__(self, events: Rate, batches: Rate) -> None:
        for name, rate in (("events", events), ("batches", batches)):
            if not rate.unlimited and rate.burst < 1:
                raise ValueError(f"the {name} burst must be at least 1 when the {name} rate is limited")
        self._events = events
        self._batches = batches
        self._buckets: dict[str, tuple[TokenBucket, TokenBucket]] = {}

    def admit(self, producer: str, events: int, now: float) -> None:
        """Count one batch of ``events`` against ``producer``, or raise ResourceExhausted with when to retry."""
        if events > self._events.burst and not self._events.unlimited:
            # Could never pass, however long the producer waited: say so instead of a retry delay.
            raise ResourceExhausted(
                f"a batch of {events} events exceeds this producer's burst of {self._events.burst:g} events; "
                "send smaller batches"
            )
        buckets = self._buckets.get(producer)
        if buckets is None:
            buckets = (TokenBucket(self._events, now), TokenBucket(self._batches, now))
            self._buckets[producer] = buckets
        event_bucket, batch_bucket = buckets
        wait = max(
            0.0 if self._events.unlimited else event_bucket.wait_for(events, now),
            0.0 if self._batches.unlimited else batch_bucket.wait_for(1, now),
        )
        if wait > 0:
            raise ResourceExhausted(
                f"producer {producer} is over its rate limit ({self._events.per_s:g} events/s, "
                f"{self._batches.per_s:g} batches/s); nothing of this batch was accepted, "
                f"resend it in {wait:.3f} s",
                retry_after_s=wait,
            )
        if not self._events.unlimited:
            event_bucket.take(events, now)
        if not self._batches.unlimited:
            batch_bucket.take(1, now)
