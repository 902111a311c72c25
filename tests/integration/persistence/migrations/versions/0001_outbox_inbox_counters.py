"""Outbox, inbox and a counter table that the test consumer increments."""

import sqlalchemy as sa
from alembic import op

from tally.persistence.inbox import create_inbox_table, drop_inbox_table
from tally.persistence.outbox import create_outbox_table, drop_outbox_table

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_outbox_table()
    create_inbox_table()
    op.create_table(
        "counters",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("value", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("counters")
    drop_inbox_table()
    drop_outbox_table()
