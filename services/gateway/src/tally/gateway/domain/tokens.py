"""Signed, expiring tokens (portal links, console sessions): HMAC-SHA256 over a compact JSON payload."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from tally.domain.errors import PermissionDenied

PORTAL = "portal"
"""Audience of a customer's portal link and of the portal session it opens."""
CONSOLE = "console"
"""Audience of an operator's console session."""

MAX_TOKEN_CHARS = 4096


class TokenRefused(PermissionDenied):
    """A link or session that is malformed, signed by no key we hold, tampered with, expired or misused."""


@dataclass(frozen=True)
class SigningKey:
    """One HMAC key: its id travels in the token so keys can be rotated without breaking live links."""

    kid: str
    secret: bytes = field(repr=False)


def new_signing_key() -> SigningKey:
    return SigningKey(secrets.token_hex(6), secrets.token_bytes(32))


@dataclass(frozen=True)
class Claims:
    """What a token says: for whom (audience, subject) and until when (unix seconds)."""

    audience: str
    subject: str
    expires_at: int


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, body: str) -> str:
    return _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())


def sign(claims: Claims, key: SigningKey) -> str:
    payload = {"aud": claims.audience, "sub": claims.subject, "exp": claims.expires_at, "kid": key.kid}
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    return f"{body}.{_mac(key.secret, body)}"


def verify(token: str, keys: Mapping[str, SigningKey], *, audience: str, now: int) -> Claims:
    """The token's claims if one of ``keys`` signed it, it is for ``audience`` and not expired at ``now``."""
    if not token or len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
        raise TokenRefused("the link is malformed")
    body, mac = token.split(".")
    try:
        payload = json.loads(_unb64(body))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise TokenRefused("the link is malformed") from None
    if not isinstance(payload, dict):
        raise TokenRefused("the link is malformed")
    key = keys.get(str(payload.get("kid")))
    # Signature before anything else is believed: a forged payload must not learn which check failed.
    if key is None or not hmac.compare_digest(_mac(key.secret, body), mac):
        raise TokenRefused("the link's signature is not valid (tampered with, or signed by a retired key)")
    expires_at, subject = payload.get("exp"), payload.get("sub")
    if payload.get("aud") != audience or not isinstance(subject, str) or not isinstance(expires_at, int):
        raise TokenRefused(f"the link is not a {audience} link")
    if expires_at <= now:
        raise TokenRefused("the link has expired: ask for a new one")
    return Claims(audience, subject, expires_at)
