"""Producers and their API keys, the projection of metering's meters, and the inbox its consumer claims in.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

from tally.persistence.inbox import create_inbox_table, drop_inbox_table

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "producers",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
    )
    op.create_table(
        "producer_keys",
        sa.Column("key_id", sa.Text, primary_key=True),
        sa.Column("producer_id", sa.Text, sa.ForeignKey("producers.id"), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("secret_sha256", sa.Text, nullable=False),
        sa.Column("scopes", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_producer_keys_producer", "producer_keys", ["producer_id", "key_id"])
    op.create_table(
        "meter_projection",
        sa.Column("meter_id", sa.Text, primary_key=True),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("aggregation", sa.Text, nullable=False),
        sa.Column("value_property", sa.Text, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("changed_at_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_rejected_events_code", "rejected_events", ["code", "id"])
    create_inbox_table()


def downgrade() -> None:
    drop_inbox_table()
    op.drop_index("ix_rejected_events_code", table_name="rejected_events")
    op.drop_table("meter_projection")
    op.drop_index("ix_producer_keys_producer", table_name="producer_keys")
    op.drop_table("producer_keys")
    op.drop_table("producers")
