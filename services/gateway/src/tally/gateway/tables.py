"""The gateway's tables (its own data only: keys, signing keys, webhook endpoints, messages, deliveries)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
)

from tally.persistence.inbox import inbox_table
from tally.persistence.outbox import outbox_table
from tally.persistence.types import UtcDateTime

metadata = MetaData()


def _serial() -> Column[int]:
    # SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL needs 64 bits for a busy log.
    return Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True)


customer_keys = Table(
    "customer_keys",
    metadata,
    Column("key_id", Text, primary_key=True),
    Column("customer_id", Text, nullable=False),
    Column("customer_external_id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("secret_sha256", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime(), nullable=True),
    Index("ix_customer_keys_customer", "customer_id", "key_id"),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", Text, primary_key=True),
    Column("secret", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", Text, primary_key=True),
    Column("url", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("event_types", Text, nullable=False),
    Column("customer_id", Text, nullable=True),
    Column("secret", Text, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("disabled_reason", Text, nullable=False),
    Column("consecutive_failures", Integer, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

webhook_messages = Table(
    "webhook_messages",
    metadata,
    Column("id", Text, primary_key=True),
    Column("event_type", Text, nullable=False),
    Column("customer_id", Text, nullable=True),
    Column("body", LargeBinary, nullable=False),
    Column("occurred_at", UtcDateTime(), nullable=False),
    Index("ix_webhook_messages_customer", "customer_id", "event_type", "occurred_at"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    _serial(),
    Column("message_id", Text, ForeignKey("webhook_messages.id"), nullable=False),
    Column("endpoint_id", Text, ForeignKey("webhook_endpoints.id"), nullable=False),
    Column("state", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime(), nullable=True),
    Column("leased_until", UtcDateTime(), nullable=True),
    Column("replay_requested", Boolean, nullable=False),
    Column("last_status", Integer, nullable=True),
    Column("last_error", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint("message_id", "endpoint_id", name="uq_webhook_deliveries_message_endpoint"),
    Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
    Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    _serial(),
    Column(
        "delivery_id",
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("webhook_deliveries.id"),
        nullable=False,
    ),
    Column("attempted_at", UtcDateTime(), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", Text, nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Column("replay", Boolean, nullable=False),
    Index("ix_webhook_attempts_delivery", "delivery_id", "id"),
)

inbox = inbox_table(metadata)
outbox = outbox_table(metadata)
