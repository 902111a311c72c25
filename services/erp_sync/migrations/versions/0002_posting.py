"""Posting to the ERPs: documents as issued, retry schedule and lease on each sync record, customers created
in each ERP, payment cursors and the payments read back.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    with op.batch_alter_table("sync_records") as table:
        table.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        table.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        table.add_column(sa.Column("verify", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_index("ix_sync_records_due", "sync_records", ["erp", "state", "next_attempt_at"])
    op.create_index(
        "ix_sync_records_internal_id", "sync_records", ["erp", "document_kind", "erp_internal_id"]
    )
    op.create_table(
        "documents",
        sa.Column("kind", sa.Text, primary_key=True),
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("number", sa.Text, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("receivable", sa.Text, nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("trace_context", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_documents_issued", "documents", ["issued_at"])
    op.create_table(
        "erp_customers",
        sa.Column("erp", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, primary_key=True),
        sa.Column("erp_reference", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "payment_cursors",
        sa.Column("erp", sa.Text, primary_key=True),
        sa.Column("cursor", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "erp_payments",
        sa.Column("erp", sa.Text, primary_key=True),
        sa.Column("reference", sa.Text, primary_key=True),
        sa.Column("payment_id", sa.Text, nullable=False),
        sa.Column("invoice_id", sa.Text, nullable=False),
        sa.Column("amount", sa.Text, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("erp_payments")
    op.drop_table("payment_cursors")
    op.drop_table("erp_customers")
    op.drop_index("ix_documents_issued", table_name="documents")
    op.drop_table("documents")
    op.drop_index("ix_sync_records_internal_id", table_name="sync_records")
    op.drop_index("ix_sync_records_due", table_name="sync_records")
    with op.batch_alter_table("sync_records") as table:
        table.drop_column("verify")
        table.drop_column("lease_until")
        table.drop_column("next_attempt_at")
