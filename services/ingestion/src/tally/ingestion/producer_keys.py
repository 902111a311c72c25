"""Verifying producer API keys against ingestion's database, with a short cache so revocation stays prompt.

While the database is unreachable, a key this replica verified recently keeps working for a bounded grace
period (Ingest must keep accepting usage through an outage of ingestion's own database); a key it has not
seen is answered UNAVAILABLE, since it can be neither verified nor refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from tally.domain.errors import Unavailable
from tally.ingestion.domain import KeyCredential
from tally.ingestion.store import ProducerStore
from tally.mesh.auth import Principal, parse_key
from tally.persistence.transient import database_outage

PRINCIPAL_PREFIX = "producer:"
"""A producer key authenticates as ``producer:<producer id>``; that name is the batch's producer_id."""


def producer_principal(producer_id: str) -> str:
    return f"{PRINCIPAL_PREFIX}{producer_id}"


def caller_producer(principal: str) -> str | None:
    """The producer a principal sends as (its batches' and rejections' producer_id, ``producer:<id>``), or
    None for keyring principals (operators and services)."""
    return principal if principal.startswith(PRINCIPAL_PREFIX) else None


@dataclass(frozen=True, slots=True)
class _Cached:
    verified_at: float
    """When the database last confirmed the key usable (monotonic seconds)."""
    secret_sha256: str
    principal: Principal


class ProducerKeyVerifier:
    """A ``KeyVerifier`` for keys issued by CreateApiKey.

    Only usable keys are cached, for ``cache_s`` seconds at most: a batch does not cost a database read,
    and a key revoked on another replica stops working within ``cache_s`` (at once on this replica).

    When the read that renews an entry fails because the database is away, the entry is trusted on, up to
    ``outage_grace_s`` after its last confirmation. That is the bound on revocation during an outage: a key
    revoked on a replica that still reaches the database keeps working on one that does not for at most
    ``outage_grace_s`` (a key cannot be revoked while the database is down for every replica).
    """

    def __init__(
        self,
        store: ProducerStore,
        *,
        cache_s: float,
        outage_grace_s: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._cache_s = cache_s
        self._outage_grace_s = outage_grace_s
        self._clock = clock
        self._wall_clock = wall_clock
        self._cache: dict[str, _Cached] = {}

    async def verify(self, token: str) -> Principal | None:
        parsed = parse_key(token)
        if parsed is None:
            return None
        key_id, secret = parsed
        now = self._clock()
        cached = self._cache.get(key_id)
        if cached is None or cached.verified_at + self._cache_s <= now:
            try:
                credential = await asyncio.to_thread(self._store.credential, key_id)
            except Exception as exc:
                outage = database_outage(exc)
                if outage is None:
                    raise
                if cached is None or cached.verified_at + self._outage_grace_s <= now:
                    self._cache.pop(key_id, None)
                    raise Unavailable(f"cannot verify the API key now: {outage}; retry") from exc
            else:
                self._cache.pop(key_id, None)
                if credential is None or not self._usable(credential):
                    return None
                key = credential.key
                cached = _Cached(
                    now,
                    key.secret_sha256,
                    Principal(producer_principal(key.producer_id), key.scopes, key.key_id),
                )
                self._cache[key_id] = cached
        # Secrets are 256 random bits, so SHA-256 is enough (as for the keyring).
        digest = hashlib.sha256(secret.encode()).hexdigest()
        if not hmac.compare_digest(cached.secret_sha256, digest):
            return None
        return cached.principal

    def forget(self, key_id: str) -> None:
        """Drop a key from the cache (after revoking it here)."""
        self._cache.pop(key_id, None)

    def _usable(self, credential: KeyCredential) -> bool:
        key = credential.key
        if credential.producer_disabled or key.revoked_at is not None:
            return False
        return key.expires_at is None or key.expires_at > self._wall_clock()
