"""Verifying producer API keys against ingestion's database, with a short cache so revocation stays prompt.

While the database is unreachable, a key this replica verified recently keeps working for a bounded grace
period (Ingest must keep accepting usage through an outage of ingestion's own database); a key it has not
seen is answered UNAVAILABLE, since it can be neither verified nor refused.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from tally.ingestion.domain import KeyCredential
from tally.ingestion.store import ProducerStore
from tally.mesh.auth import Principal
from tally.persistence.key_cache import KeyCache, StoredKey

PRINCIPAL_PREFIX = "producer:"
"""A producer key authenticates as ``producer:<producer id>``; that name is the batch's producer_id."""


def producer_principal(producer_id: str) -> str:
    return f"{PRINCIPAL_PREFIX}{producer_id}"


def caller_producer(principal: str) -> str | None:
    """The producer a principal sends as (its batches' and rejections' producer_id, ``producer:<id>``), or
    None for keyring principals (operators and services)."""
    return principal if principal.startswith(PRINCIPAL_PREFIX) else None


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
        self._wall_clock = wall_clock
        self._keys = KeyCache(self._read, cache_s=cache_s, outage_grace_s=outage_grace_s, clock=clock)

    async def verify(self, token: str) -> Principal | None:
        return await self._keys.holder(token)

    def forget(self, key_id: str) -> None:
        """Drop a key from the cache (after revoking it here)."""
        self._keys.forget(key_id)

    def _read(self, key_id: str) -> StoredKey[Principal] | None:
        credential = self._store.credential(key_id)
        if credential is None or not self._usable(credential):
            return None
        key = credential.key
        return StoredKey(
            key.secret_sha256, Principal(producer_principal(key.producer_id), key.scopes, key.key_id)
        )

    def _usable(self, credential: KeyCredential) -> bool:
        key = credential.key
        if credential.producer_disabled or key.revoked_at is not None:
            return False
        return key.expires_at is None or key.expires_at > self._wall_clock()
