"""Receivables (what credit notes and payments took off each invoice, customer credit carried beyond it), the
legal entity issuing each invoice and what it refers to, credit applied before tax, billing runs kept, entity
logos, and the delivery log.

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    with op.batch_alter_table("invoices") as batch:
        batch.add_column(sa.Column("credits_before_tax", sa.Text, nullable=False, server_default="0"))
        batch.add_column(sa.Column("credited", sa.Text, nullable=False, server_default="0"))
        batch.add_column(sa.Column("paid", sa.Text, nullable=False, server_default="0"))
        batch.add_column(sa.Column("issuer_snapshot", sa.Text, nullable=True))
        batch.add_column(sa.Column("document_references", sa.Text, nullable=True))
    # Invoices PAID before receivables were kept owed nothing: what they were paid is their amount due.
    op.execute("UPDATE invoices SET paid = amount_due WHERE status = 'PAID'")
    with op.batch_alter_table("credit_notes") as batch:
        batch.add_column(sa.Column("applied", sa.Text, nullable=False, server_default="0"))
        batch.add_column(sa.Column("carried_forward", sa.Text, nullable=False, server_default="0"))
    with op.batch_alter_table("credit_grants") as batch:
        batch.add_column(sa.Column("description", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("before_tax", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("source", sa.Text, nullable=False, server_default="CATALOG"))
    op.create_table(
        "billing_runs",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("trigger", sa.Text, nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("evaluated", sa.Integer, nullable=False, server_default="0"),
        sa.Column("drafted", sa.Integer, nullable=False, server_default="0"),
        sa.Column("finalized", sa.Integer, nullable=False, server_default="0"),
        sa.Column("failed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("error", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("ix_billing_runs_started_at", "billing_runs", ["started_at"])
    op.create_table(
        "billing_run_failures",
        sa.Column("run_id", sa.Text, sa.ForeignKey("billing_runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("subscription_id", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "subscription_id", name="pk_billing_run_failures"),
    )
    op.create_table(
        "legal_entities",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("logo", sa.LargeBinary, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("document_kind", sa.Text, nullable=False),
        sa.Column("document_id", sa.Text, nullable=False),
        sa.Column("document_number", sa.Text, nullable=False),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("recipients", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text, nullable=False, server_default=""),
        sa.Column("message_id", sa.Text, nullable=False, server_default=""),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_deliveries_document", "deliveries", ["document_id"])
    op.create_index("ix_deliveries_due", "deliveries", ["state", "next_attempt_at"])
    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("delivery_id", sa.Text, sa.ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_delivery_attempts_delivery", "delivery_attempts", ["delivery_id"])


def downgrade() -> None:
    op.drop_table("delivery_attempts")
    op.drop_table("deliveries")
    op.drop_table("legal_entities")
    op.drop_table("billing_run_failures")
    op.drop_table("billing_runs")
    with op.batch_alter_table("credit_grants") as batch:
        batch.drop_column("source")
        batch.drop_column("before_tax")
        batch.drop_column("description")
    with op.batch_alter_table("credit_notes") as batch:
        batch.drop_column("carried_forward")
        batch.drop_column("applied")
    with op.batch_alter_table("invoices") as batch:
        batch.drop_column("document_references")
        batch.drop_column("issuer_snapshot")
        batch.drop_column("paid")
        batch.drop_column("credited")
        batch.drop_column("credits_before_tax")
