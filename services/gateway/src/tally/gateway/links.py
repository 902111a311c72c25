"""Portal links and console sessions: signing them with the gateway's current key, verifying with any."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from tally.domain.errors import InvalidArgument
from tally.gateway.domain import tokens
from tally.gateway.domain.access import Viewer, customer_viewer
from tally.gateway.domain.tokens import Claims, SigningKey
from tally.gateway.key_store import KeyStore
from tally.gateway.peers import Peers

MAX_LINK_TTL_S = 31 * 24 * 3600
"""A portal link is short-lived: a month at the very most."""


@dataclass(frozen=True)
class PortalLink:
    url: str
    customer_id: str
    expires_at: datetime


class Signer:
    """Holds the signing keys from the database: the newest signs, every one verifies."""

    def __init__(self, store: KeyStore, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock
        self._keys: list[SigningKey] = []

    async def load(self) -> None:
        """Reads the keys, creating the first one on a new database (a racing replica's key is kept too)."""
        keys = await asyncio.to_thread(self._store.signing_keys)
        if not keys:
            await asyncio.to_thread(self._store.add_signing_key, tokens.new_signing_key(), datetime.now(UTC))
            keys = await asyncio.to_thread(self._store.signing_keys)
        self._keys = keys

    def sign(self, audience: str, subject: str, ttl_s: float) -> tuple[str, int]:
        expires_at = int(self._clock() + ttl_s)
        return tokens.sign(Claims(audience, subject, expires_at), self._keys[0]), expires_at

    def verify(self, token: str, audience: str) -> Claims:
        return tokens.verify(
            token, {key.kid: key for key in self._keys}, audience=audience, now=int(self._clock())
        )


class PortalLinks:
    """Signs links that open one customer's portal, and turns a link or session back into its viewer."""

    def __init__(self, signer: Signer, peers: Peers, *, public_url: str, default_ttl_s: float) -> None:
        self._signer = signer
        self._peers = peers
        self._public_url = public_url.rstrip("/")
        self._default_ttl_s = default_ttl_s

    async def create(self, customer: str, ttl_s: float = 0) -> PortalLink:
        if ttl_s < 0 or ttl_s > MAX_LINK_TTL_S:
            raise InvalidArgument.field("ttl_seconds", f"must be between 0 and {MAX_LINK_TTL_S} seconds")
        found = await self._peers.customer(customer)
        token, expires_at = self._signer.sign(tokens.PORTAL, found.id, ttl_s or self._default_ttl_s)
        return PortalLink(
            f"{self._public_url}/portal/open?token={quote(token)}",
            found.id,
            datetime.fromtimestamp(expires_at, UTC),
        )

    def viewer(self, token: str) -> Viewer:
        """The customer a portal link or session token is for; TokenRefused (403) otherwise."""
        return customer_viewer(self._signer.verify(token, tokens.PORTAL).subject, "portal link")


class ConsoleSessions:
    """An operator's console session: a signed token naming the operator, set as a cookie at login."""

    def __init__(self, signer: Signer, *, ttl_s: float) -> None:
        self._signer = signer
        self._ttl_s = ttl_s

    def open(self, viewer: Viewer) -> str:
        viewer.ensure_operator()
        return self._signer.sign(tokens.CONSOLE, viewer.name, self._ttl_s)[0]

    def viewer(self, token: str) -> Viewer:
        return Viewer(self._signer.verify(token, tokens.CONSOLE).subject, customer_id=None)
