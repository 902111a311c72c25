"""Customer API keys and the HMAC keys that sign portal links and console sessions (the only SQL for them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert, select, update

from tally.domain.errors import NotFound
from tally.gateway.domain.tokens import SigningKey
from tally.gateway.tables import customer_keys, signing_keys


@dataclass(frozen=True)
class CustomerKeyRow:
    """What is stored about one customer key: never the secret, only its SHA-256."""

    key_id: str
    customer_id: str
    customer_external_id: str
    name: str
    secret_sha256: str
    created_at: datetime
    revoked_at: datetime | None


def _key(row: object) -> CustomerKeyRow:
    m = row._mapping  # type: ignore[attr-defined]
    return CustomerKeyRow(
        m["key_id"],
        m["customer_id"],
        m["customer_external_id"],
        m["name"],
        m["secret_sha256"],
        m["created_at"],
        m["revoked_at"],
    )


class KeyStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add_customer_key(self, key: CustomerKeyRow) -> CustomerKeyRow:
        with self._engine.begin() as conn:
            conn.execute(insert(customer_keys).values(**key.__dict__))
        return key

    def customer_key(self, key_id: str) -> CustomerKeyRow | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(customer_keys).where(customer_keys.c.key_id == key_id)).first()
        return None if row is None else _key(row)

    def customer_keys(self, customer_id: str, *, include_revoked: bool) -> list[CustomerKeyRow]:
        query = select(customer_keys).where(customer_keys.c.customer_id == customer_id)
        if not include_revoked:
            query = query.where(customer_keys.c.revoked_at.is_(None))
        with self._engine.connect() as conn:
            rows = conn.execute(query.order_by(customer_keys.c.created_at, customer_keys.c.key_id)).all()
        return [_key(row) for row in rows]

    def revoke_customer_key(self, key_id: str, now: datetime) -> CustomerKeyRow:
        """Idempotent: a revoked key keeps its first revocation time."""
        with self._engine.begin() as conn:
            conn.execute(
                update(customer_keys)
                .where(customer_keys.c.key_id == key_id, customer_keys.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            row = conn.execute(select(customer_keys).where(customer_keys.c.key_id == key_id)).first()
        if row is None:
            raise NotFound("customer key", key_id, "key_id")
        return _key(row)

    def signing_keys(self) -> list[SigningKey]:
        """Every signing key, newest first (the newest signs; all verify)."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(signing_keys).order_by(signing_keys.c.created_at.desc(), signing_keys.c.kid)
            ).all()
        return [SigningKey(row.kid, bytes(row.secret)) for row in rows]

    def add_signing_key(self, key: SigningKey, now: datetime) -> None:
        with self._engine.begin() as conn:
            conn.execute(insert(signing_keys).values(kid=key.kid, secret=key.secret, created_at=now))
