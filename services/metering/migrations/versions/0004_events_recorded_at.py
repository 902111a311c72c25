"""When metering stored each event (its own clock): the close of a period sweeps what arrived while it closed.

Usage read for an invoice and the InvoiceFinalized that tells metering the period is closed are moments
apart; an event of the period stored in between would be neither on the invoice nor late. On
InvoiceFinalized metering flags as late the period's events stored since shortly before the invoice was
issued (recorded_at_ms). Rows stored before this column existed read 0.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    # A constant default: an O(1) ALTER on both databases, whatever the table's size.
    op.add_column("events", sa.Column("recorded_at_ms", sa.BigInteger, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("recorded_at_ms")
