"""API keys and principals: key generation, the hashed keyring file, and verifying a presented key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

KEY_PREFIX = "tly"
ALL_SCOPES = "*"
"""The scope that grants every other scope: held by the admin role only; service keys hold exactly the scopes
of the RPCs they call (tally.mesh.roles)."""

_KEYRING_VERSION = 1


@dataclass(frozen=True)
class Principal:
    """Who is calling: the name of a service, person or producer, and what it may do."""

    name: str
    scopes: frozenset[str]
    key_id: str

    def has_scope(self, scope: str) -> bool:
        return ALL_SCOPES in self.scopes or scope in self.scopes


@dataclass(frozen=True)
class KeyRecord:
    """What the keyring stores about one key: never the key itself, only the SHA-256 of its secret."""

    key_id: str
    principal: str
    scopes: frozenset[str]
    secret_sha256: str
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    revoked: bool = False

    def to_json(self) -> dict[str, object]:
        return {
            "key_id": self.key_id,
            "principal": self.principal,
            "scopes": sorted(self.scopes),
            "secret_sha256": self.secret_sha256,
            "created_at": self.created_at.isoformat(),
            "revoked": self.revoked,
        }

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> KeyRecord:
        scopes = raw["scopes"]
        if not isinstance(scopes, list):
            raise ValueError(f"key {raw.get('key_id')!r}: scopes must be a list")
        return cls(
            key_id=str(raw["key_id"]),
            principal=str(raw["principal"]),
            scopes=frozenset(str(s) for s in scopes),
            secret_sha256=str(raw["secret_sha256"]),
            created_at=datetime.fromisoformat(str(raw["created_at"])),
            revoked=bool(raw.get("revoked", False)),
        )


def _digest(secret: str) -> str:
    # Secrets are 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


def generate_key(principal: str, scopes: Iterable[str]) -> tuple[str, KeyRecord]:
    """A new key as (plaintext to hand out once, record to store); the plaintext is not kept anywhere."""
    key_id = secrets.token_hex(8)
    secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    record = KeyRecord(
        key_id=key_id, principal=principal, scopes=frozenset(scopes), secret_sha256=_digest(secret)
    )
    return f"{KEY_PREFIX}_{key_id}_{secret}", record


def parse_key(token: str) -> tuple[str, str] | None:
    """(key_id, secret) of a well-formed key, else None; the secret itself may contain underscores."""
    prefix, sep, rest = token.partition("_")
    if prefix != KEY_PREFIX or not sep:
        return None
    key_id, sep, secret = rest.partition("_")
    if not key_id or not sep or not secret:
        return None
    return key_id, secret


class KeyVerifier(Protocol):
    """Turns a presented key into a Principal, or None when the key is unknown, wrong or revoked.

    Asynchronous so that a verifier backed by a database (ingestion's producer keys) fits too.
    """

    async def verify(self, token: str) -> Principal | None: ...


class Keyring:
    """Key records by key id, loaded from and saved to a JSON file."""

    def __init__(self, records: Iterable[KeyRecord] = ()) -> None:
        self._records: dict[str, KeyRecord] = {}
        for record in records:
            self.add(record)

    def __iter__(self) -> Iterator[KeyRecord]:
        return iter(self._records.values())

    def __len__(self) -> int:
        return len(self._records)

    def get(self, key_id: str) -> KeyRecord | None:
        return self._records.get(key_id)

    def add(self, record: KeyRecord) -> None:
        if record.key_id in self._records:
            raise ValueError(f"key {record.key_id!r} is already in the keyring")
        self._records[record.key_id] = record

    def revoke(self, key_id: str) -> KeyRecord:
        record = self._records.get(key_id)
        if record is None:
            raise KeyError(key_id)
        revoked = replace(record, revoked=True)
        self._records[key_id] = revoked
        return revoked

    def verify_now(self, token: str) -> Principal | None:
        """Synchronous verification, for tools that are not running an event loop."""
        parsed = parse_key(token)
        if parsed is None:
            return None
        key_id, secret = parsed
        record = self._records.get(key_id)
        if record is None or record.revoked:
            return None
        if not hmac.compare_digest(record.secret_sha256, _digest(secret)):
            return None
        return Principal(name=record.principal, scopes=record.scopes, key_id=record.key_id)

    async def verify(self, token: str) -> Principal | None:
        return self.verify_now(token)

    @classmethod
    def load(cls, path: Path) -> Keyring:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("version") != _KEYRING_VERSION:
            raise ValueError(f"{path}: unsupported keyring version {raw.get('version')!r}")
        return cls(KeyRecord.from_json(entry) for entry in raw["keys"])

    def save(self, path: Path) -> None:
        """Write atomically: services may load the file at any moment, so they never see half of it."""
        document = {
            "version": _KEYRING_VERSION,
            "keys": [record.to_json() for record in sorted(self, key=lambda r: r.key_id)],
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(document, handle, indent=2)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            # Key hashes are still credentials' fingerprints; keep the file private to its owner.
            os.chmod(temporary, 0o600)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


class ChainedVerifier:
    """Asks each verifier in turn; the first that recognises the key decides."""

    def __init__(self, verifiers: Sequence[KeyVerifier]) -> None:
        self._verifiers = tuple(verifiers)

    async def verify(self, token: str) -> Principal | None:
        for verifier in self._verifiers:
            principal = await verifier.verify(token)
            if principal is not None:
                return principal
        return None
