"""When each invoice's usage was read from metering (carried by InvoiceFinalized, so metering can report
usage of the period stored after it as late).

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.add_column("invoices", sa.Column("usage_read_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invoices") as batch:
        batch.drop_column("usage_read_at")
