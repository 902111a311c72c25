"""The local stack's credentials: an admin key, a key per service (its identity, with only the scopes of
the RPCs it calls) and the hashed keyring."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tally.mesh.auth import ALL_SCOPES, Keyring, generate_key, parse_key
from tally.mesh.roles import service_scopes


@dataclass(frozen=True)
class Credentials:
    """Plaintext keys for this machine's local processes, and the keyring the services verify against."""

    admin_key: str
    service_keys: dict[str, str]
    keyring_path: Path


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text + "\n")


def ensure_credentials(directory: Path, services: Sequence[str]) -> Credentials:
    """Create keys once and reuse them on every later start, so a saved admin key keeps working."""
    directory.mkdir(parents=True, exist_ok=True)
    keyring_path = directory / "keyring.json"
    keyring = Keyring.load(keyring_path) if keyring_path.exists() else Keyring()
    changed = False

    def key_for(principal: str, filename: str, scopes: frozenset[str]) -> str:
        nonlocal changed
        path = directory / filename
        if path.exists():
            plaintext = path.read_text().strip()
            parsed = parse_key(plaintext)
            record = keyring.get(parsed[0]) if parsed else None
            if record is not None and record.scopes == scopes and not record.revoked:
                return plaintext
            if record is not None and not record.revoked:
                # A data dir from before keys had least-privilege scopes (services held '*'): replace the
                # key rather than keep a broader one than the service needs.
                keyring.revoke(record.key_id)
        plaintext, record = generate_key(principal, scopes)
        keyring.add(record)
        _write_private(path, plaintext)
        changed = True
        return plaintext

    admin = key_for("admin", "admin.key", frozenset({ALL_SCOPES}))
    service_keys = {
        name: key_for(f"service:{name}", f"{name}.key", service_scopes(name)) for name in services
    }
    if changed or not keyring_path.exists():
        keyring.save(keyring_path)
    return Credentials(admin, service_keys, keyring_path)
