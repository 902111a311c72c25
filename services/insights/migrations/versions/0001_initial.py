"""Insights' first schema: usage series and their model state, anomalies, the usage activity projection, late
usage, and the inbox and outbox every service has.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

from tally.persistence.inbox import create_inbox_table, drop_inbox_table
from tally.persistence.outbox import create_outbox_table, drop_outbox_table

revision = "0001"
down_revision = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "usage_series",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("customer", sa.Text, nullable=False),
        sa.Column("meter_id", sa.Text, nullable=False),
        sa.Column("granularity", sa.Text, nullable=False),
        _ts("scored_until", nullable=True),
        sa.Column("state", sa.Text, nullable=False),
        _ts("updated_at"),
    )
    op.create_table(
        "anomalies",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("series_id", sa.Text, nullable=False),
        sa.Column("customer", sa.Text, nullable=False),
        sa.Column("meter_id", sa.Text, nullable=False),
        sa.Column("meter_key", sa.Text, nullable=False),
        sa.Column("granularity", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("severity", sa.Text, nullable=False),
        _ts("start_at"),
        _ts("end_at", nullable=True),
        sa.Column("observed", sa.Text, nullable=False),
        sa.Column("expected", sa.Text, nullable=False),
        sa.Column("expected_low", sa.Text, nullable=False),
        sa.Column("expected_high", sa.Text, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        _ts("detected_at"),
        _ts("updated_at"),
    )
    op.create_index("ix_anomalies_customer_start", "anomalies", ["customer", "start_at"])
    op.create_index("ix_anomalies_start", "anomalies", ["start_at", "id"])
    op.create_table(
        "customer_activity",
        sa.Column("customer", sa.Text, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        _ts("first_event_at"),
        _ts("last_event_at"),
        sa.Column("events", sa.BigInteger, nullable=False),
        _ts("last_received_at"),
        sa.PrimaryKeyConstraint("customer", "event_type", name="pk_customer_activity"),
    )
    op.create_table(
        "producer_activity",
        sa.Column("producer_id", sa.Text, nullable=False),
        _ts("day"),
        sa.Column("accepted", sa.BigInteger, nullable=False),
        _ts("last_received_at"),
        sa.PrimaryKeyConstraint("producer_id", "day", name="pk_producer_activity"),
    )
    op.create_table(
        "late_usage",
        sa.Column("msg_id", sa.Text, primary_key=True),
        sa.Column("customer", sa.Text, nullable=False),
        sa.Column("meter_ids", sa.Text, nullable=False),
        _ts("period_start"),
        _ts("period_end"),
        sa.Column("cause", sa.Text, nullable=False),
        sa.Column("event_count", sa.Integer, nullable=False),
        _ts("detected_at"),
    )
    op.create_index("ix_late_usage_customer", "late_usage", ["customer", "period_start"])
    create_inbox_table()
    create_outbox_table()


def downgrade() -> None:
    drop_outbox_table()
    drop_inbox_table()
    for table in ("late_usage", "producer_activity", "customer_activity", "anomalies", "usage_series"):
        op.drop_table(table)
