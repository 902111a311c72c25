"""Late usage is applied per subscription: one customer's late events may change invoices of several.

A late-usage row stays pending until every subscription of the customer with a billed invoice overlapping its
period has accounted for it; each subscription that did is recorded here with the invoice that carried it.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "late_usage_applied",
        sa.Column("late_usage_id", sa.Text, nullable=False),
        sa.Column("subscription_id", sa.Text, nullable=False),
        sa.Column("invoice_id", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("late_usage_id", "subscription_id", name="pk_late_usage_applied"),
    )


def downgrade() -> None:
    op.drop_table("late_usage_applied")
