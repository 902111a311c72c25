"""Metering's usage watermark taken before each invoice's usage was read (carried by InvoiceFinalized).

With it metering's close reports exactly the period's events stored after the read as late; before, it compared
clocks (usage_read_at minus a 30 s margin) and flagged on-time events stored just before the read. Invoices
drafted before this column keep NULL and the old behaviour.

Revision ID: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.add_column("invoices", sa.Column("usage_watermark", sa.BigInteger, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invoices") as batch:
        batch.drop_column("usage_watermark")
