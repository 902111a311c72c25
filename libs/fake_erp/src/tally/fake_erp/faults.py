"""Injected faults: which share of calls fail, and how (timeouts, 5xx, 429, a write applied but its answer lost)."""

from __future__ import annotations

import enum
import random
import threading
from collections import Counter
from dataclasses import dataclass, field


class Fault(enum.StrEnum):
    """One way a call to the ERP goes wrong."""

    TIMEOUT = "timeout"
    """The server stalls past the client's timeout, then drops the connection; nothing was applied."""
    SERVER_ERROR = "server_error"
    """503 Service Unavailable; nothing was applied."""
    RATE_LIMITED = "rate_limited"
    """429 Too Many Requests with Retry-After; nothing was applied."""
    APPLIED_THEN_DROPPED = "applied_then_dropped"
    """The write is applied, then the connection is dropped before any answer: the outcome is unknown."""


@dataclass
class FaultPlan:
    """Fails ``rate`` of the calls, picking among ``kinds`` evenly; seeded, so a run can be repeated."""

    rate: float = 0.0
    kinds: tuple[Fault, ...] = tuple(Fault)
    stall_s: float = 2.0
    """How long a TIMEOUT stalls: set it above the client's timeout."""
    retry_after_s: int = 1
    """The Retry-After a RATE_LIMITED answer carries."""
    seed: int = 7
    injected: Counter[Fault] = field(default_factory=Counter)
    """How many of each fault were injected so far."""
    _random: random.Random = field(init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _queued: list[Fault] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def queue(self, *faults: Fault) -> None:
        """Inject these faults, in order, on the next calls (whatever the rate)."""
        with self._lock:
            self._queued.extend(faults)

    def next(self, *, write: bool) -> Fault | None:
        """The fault for the next call, if any; APPLIED_THEN_DROPPED only falls on writes."""
        with self._lock:
            if self._queued:
                fault: Fault | None = self._queued.pop(0)
            elif self.rate > 0 and self._random.random() < self.rate:
                kinds = (
                    self.kinds
                    if write
                    else tuple(k for k in self.kinds if k is not Fault.APPLIED_THEN_DROPPED)
                )
                fault = self._random.choice(kinds) if kinds else None
            else:
                fault = None
            if fault is Fault.APPLIED_THEN_DROPPED and not write:
                fault = Fault.SERVER_ERROR
            if fault is not None:
                self.injected[fault] += 1
            return fault
