"""API keys kept in a service's database, verified with a short cache so revocation stays prompt.

A key is ``tly_<key id>_<secret>``; the database holds only the secret's SHA-256. A usable key is read once
per ``cache_s`` at most: a request does not cost a database read, and a key revoked on another replica stops
working within ``cache_s`` (at once on this replica, which ``forget``s it).

With ``outage_grace_s`` set, a key this replica verified recently keeps working while the database is away,
up to ``outage_grace_s`` after its last confirmation; a key it has not seen (or not within that time) is
answered UNAVAILABLE, since it can be neither verified nor refused. Without it, the database's errors reach
the caller as they are.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from tally.domain.errors import Unavailable
from tally.mesh.auth import parse_key
from tally.persistence.transient import database_outage

__all__ = ["KeyCache", "StoredKey"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class StoredKey(Generic[T]):
    """A usable key as its database holds it: the SHA-256 of its secret, and who presents it."""

    secret_sha256: str
    holder: T


@dataclass(frozen=True, slots=True)
class _Cached(Generic[T]):
    verified_at: float
    """When the database last confirmed the key usable (monotonic seconds)."""
    key: StoredKey[T]


class KeyCache(Generic[T]):
    """Who presents a key, from ``read(key id)``: a blocking read (run in a thread) of the key, or None when the
    key is unknown or not usable (revoked, expired, its owner disabled)."""

    def __init__(
        self,
        read: Callable[[str], StoredKey[T] | None],
        *,
        cache_s: float,
        outage_grace_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._cache_s = cache_s
        self._outage_grace_s = outage_grace_s
        self._clock = clock
        self._cache: dict[str, _Cached[T]] = {}

    async def holder(self, token: str) -> T | None:
        """Who presents ``token``, or None when it is not a key, unknown, unusable or its secret is wrong."""
        parsed = parse_key(token)
        if parsed is None:
            return None
        key_id, secret = parsed
        now = self._clock()
        cached = self._cache.get(key_id)
        if cached is None or cached.verified_at + self._cache_s <= now:
            try:
                key = await asyncio.to_thread(self._read, key_id)
            except Exception as exc:
                grace = self._outage_grace_s
                outage = None if grace is None else database_outage(exc)
                if grace is None or outage is None:
                    raise
                if cached is None or cached.verified_at + grace <= now:
                    self._cache.pop(key_id, None)
                    raise Unavailable(f"cannot verify the API key now: {outage}; retry") from exc
            else:
                self._cache.pop(key_id, None)
                if key is None:
                    return None
                cached = _Cached(now, key)
                self._cache[key_id] = cached
        # Secrets are 256 random bits, so SHA-256 is enough (as for the keyring).
        digest = hashlib.sha256(secret.encode()).hexdigest()
        if not hmac.compare_digest(cached.key.secret_sha256, digest):
            return None
        return cached.key.holder

    def forget(self, key_id: str) -> None:
        """Drop a key from the cache (after revoking it here)."""
        self._cache.pop(key_id, None)
