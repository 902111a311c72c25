"""Catalog's first schema: customers, the outbox (CustomerChanged) and the inbox (QuoteAccepted, later).

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

from tally.persistence.inbox import create_inbox_table, drop_inbox_table
from tally.persistence.outbox import create_outbox_table, drop_outbox_table

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("external_id", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("billing_address", sa.Text, nullable=False),
        sa.Column("tax_id", sa.Text, nullable=False),
        sa.Column("tax_rate_percent", sa.Text, nullable=True),
        sa.Column("tax_exempt", sa.Boolean, nullable=False),
        sa.Column("erp_ids", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("external_id", name="uq_customers_external_id"),
    )
    create_outbox_table()
    create_inbox_table()


def downgrade() -> None:
    drop_inbox_table()
    drop_outbox_table()
    op.drop_table("customers")
