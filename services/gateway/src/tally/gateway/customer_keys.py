"""Customer API keys: issuing, listing and revoking them, and telling who an HTTP caller is from its key."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from tally.domain.errors import InvalidArgument
from tally.gateway.domain.access import OPERATOR_SCOPE, Viewer, customer_viewer
from tally.gateway.key_store import CustomerKeyRow, KeyStore
from tally.gateway.peers import Peers
from tally.mesh.auth import Keyring, generate_key
from tally.persistence.key_cache import KeyCache, StoredKey


@dataclass(frozen=True)
class IssuedCustomerKey:
    plaintext: str
    key: CustomerKeyRow


class CustomerKeys:
    """Issues keys scoped to one catalog customer (checked to exist), lists and revokes them."""

    def __init__(
        self,
        store: KeyStore,
        peers: Peers,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._peers = peers
        self._clock = clock
        self.revoked: Callable[[str], None] = lambda key_id: None
        """Told about each revocation, so this replica's verifier refuses the key at once."""

    async def issue(self, customer: str, name: str) -> IssuedCustomerKey:
        if len(name) > 200 or "\x00" in name:
            raise InvalidArgument.field("name", "must be at most 200 characters, without NUL")
        found = await self._peers.customer(customer)
        plaintext, record = generate_key(f"customer:{found.id}", ["customer"])
        row = CustomerKeyRow(
            key_id=record.key_id,
            customer_id=found.id,
            customer_external_id=found.external_id,
            name=name,
            secret_sha256=record.secret_sha256,
            created_at=self._clock(),
            revoked_at=None,
        )
        return IssuedCustomerKey(plaintext, await asyncio.to_thread(self._store.add_customer_key, row))

    async def list(self, customer: str, *, include_revoked: bool) -> list[CustomerKeyRow]:
        found = await self._peers.customer(customer)
        return await asyncio.to_thread(self._store.customer_keys, found.id, include_revoked=include_revoked)

    async def revoke(self, key_id: str) -> CustomerKeyRow:
        if not key_id:
            raise InvalidArgument.field("key_id", "is required")
        row = await asyncio.to_thread(self._store.revoke_customer_key, key_id, self._clock())
        self.revoked(key_id)
        return row


class ApiKeyVerifier:
    """Who presents a key: an operator (keyring key with the ``finance`` scope or ``*``) or one customer
    (a customer key from the gateway's database, cached briefly so revocation stays prompt)."""

    def __init__(
        self,
        keyring: Keyring,
        store: KeyStore,
        *,
        cache_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._keyring = keyring
        self._store = store
        self._keys = KeyCache(self._read, cache_s=cache_s, clock=clock)

    def forget(self, key_id: str) -> None:
        self._keys.forget(key_id)

    async def viewer(self, token: str) -> Viewer | None:
        principal = self._keyring.verify_now(token)
        if principal is not None:
            # Services' keys carry ``*`` too: any keyring key with the operator scope reads every customer.
            return Viewer(principal.name, customer_id=None) if principal.has_scope(OPERATOR_SCOPE) else None
        return await self._keys.holder(token)

    def _read(self, key_id: str) -> StoredKey[Viewer] | None:
        row = self._store.customer_key(key_id)
        if row is None or row.revoked_at is not None:
            return None
        return StoredKey(row.secret_sha256, customer_viewer(row.customer_id, f"key {key_id}"))
