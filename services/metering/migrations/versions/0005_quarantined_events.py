"""Events metering could not apply, set aside with their reason so the rest of their batch commits.

A value no bucket can hold (``"1E+999999"`` from an older ingestion or a forged message) used to fail its
whole batch's transaction until the message was dead-lettered with its 999 good neighbours. Such an event is
now stored here instead of in ``events`` (quarantine.py); ListQuarantined lists them, oldest first.

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "quarantined_events",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("producer_id", sa.Text, nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("batch_id", sa.Text, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("field", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("quarantined_at_ms", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("producer_id", "event_id", name="uq_quarantined_events_producer_event"),
    )


def downgrade() -> None:
    op.drop_table("quarantined_events")
