"""erp-sync's first schema: the sync ledger, the outbox (PaymentRecorded, later) and the inbox.

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
        "sync_records",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("erp", sa.Text, nullable=False),
        sa.Column("document_kind", sa.Text, nullable=False),
        sa.Column("document_id", sa.Text, nullable=False),
        sa.Column("erp_key", sa.Text, nullable=False),
        sa.Column("erp_internal_id", sa.Text, nullable=True),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("erp", "document_kind", "document_id", name="uq_sync_records_document"),
    )
    op.create_index("ix_sync_records_state_updated", "sync_records", ["state", "updated_at"])
    create_outbox_table()
    create_inbox_table()


def downgrade() -> None:
    drop_inbox_table()
    drop_outbox_table()
    op.drop_index("ix_sync_records_state_updated", table_name="sync_records")
    op.drop_table("sync_records")
