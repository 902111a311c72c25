"""Quoting's first schema: quotes, their number series, the outbox (QuoteAccepted, later) and the inbox.

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
        "quotes",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("sequence", sa.BigInteger, nullable=False),
        sa.Column("number", sa.Text, nullable=False),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("plan_version_id", sa.Text, nullable=False),
        sa.Column("billing_cycle", sa.Text, nullable=False),
        sa.Column("term_months", sa.Integer, nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lines", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("sequence", name="uq_quotes_sequence"),
        sa.UniqueConstraint("number", name="uq_quotes_number"),
    )
    op.create_index("ix_quotes_customer_sequence", "quotes", ["customer_id", "sequence"])
    numbering = op.create_table(
        "numbering",
        sa.Column("series", sa.Text, primary_key=True),
        sa.Column("last_value", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(numbering, [{"series": "quote", "last_value": 0}])
    create_outbox_table()
    create_inbox_table()


def downgrade() -> None:
    drop_inbox_table()
    drop_outbox_table()
    op.drop_table("numbering")
    op.drop_index("ix_quotes_customer_sequence", table_name="quotes")
    op.drop_table("quotes")
