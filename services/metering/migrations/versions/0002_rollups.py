"""Hourly rollups, distinct values, conflicts, the audit trail and closed periods; event flags.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

# Exact decimals on both databases: NUMERIC on PostgreSQL, decimal text on SQLite (which has no exact type).
DECIMAL = sa.Numeric().with_variant(sa.Text(), "sqlite")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("payload_hash", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("late", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("amended", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("voided", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_table(
        "rollups",
        sa.Column("meter_id", sa.Text, nullable=False),
        sa.Column("customer", sa.Text, nullable=False),
        sa.Column("group_key", sa.Text, nullable=False),
        sa.Column("hour_ms", sa.BigInteger, nullable=False),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("sum", DECIMAL, nullable=False),
        sa.Column("min", DECIMAL, nullable=True),
        sa.Column("max", DECIMAL, nullable=True),
        sa.Column("latest_ts_ms", sa.BigInteger, nullable=True),
        sa.Column("latest_event_id", sa.Text, nullable=False),
        sa.Column("latest_value", DECIMAL, nullable=True),
        sa.Column("weighted_ts", DECIMAL, nullable=False),
        sa.PrimaryKeyConstraint("meter_id", "customer", "group_key", "hour_ms"),
    )
    op.create_table(
        "unique_values",
        sa.Column("meter_id", sa.Text, nullable=False),
        sa.Column("customer", sa.Text, nullable=False),
        sa.Column("group_key", sa.Text, nullable=False),
        sa.Column("hour_ms", sa.BigInteger, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("meter_id", "customer", "group_key", "hour_ms", "value"),
    )
    op.create_table(
        "event_conflicts",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("producer_id", sa.Text, nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("batch_id", sa.Text, nullable=False),
        sa.Column("stored_hash", sa.Text, nullable=False),
        sa.Column("received_payload", sa.Text, nullable=False),
        sa.Column("detected_at_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "event_audit",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("producer_id", sa.Text, nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("before_payload", sa.Text, nullable=False),
        sa.Column("after_payload", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_event_audit_event", "event_audit", ["producer_id", "event_id"])
    op.create_table(
        "closed_periods",
        sa.Column("customer", sa.Text, primary_key=True),
        sa.Column("closed_until_ms", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for table in ("closed_periods", "event_audit", "event_conflicts", "unique_values", "rollups"):
        op.drop_table(table)
    with op.batch_alter_table("events") as batch:
        for column in ("voided", "amended", "late", "payload_hash"):
            batch.drop_column(column)
