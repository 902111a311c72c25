"""Ingestion's first schema: the rejected-events log and the outbox (every service's relay reads one).

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

from tally.persistence.outbox import create_outbox_table

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "rejected_events",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("producer_id", sa.Text, nullable=False),
        sa.Column("batch_id", sa.Text, nullable=False),
        sa.Column("event_index", sa.Integer, nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("field", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("producer_id", "batch_id", "event_index", name="uq_rejected_events_position"),
    )
    op.create_index("ix_rejected_events_producer_time", "rejected_events", ["producer_id", "received_at"])
    create_outbox_table()


def downgrade() -> None:
    op.drop_table("rejected_events")
