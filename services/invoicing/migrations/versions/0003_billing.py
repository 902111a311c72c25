"""Billing runs, credit notes, the credit ledger, late-usage adjustments and billing controls.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"

_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("invoices") as batch:
        # REGULAR closes a period; THRESHOLD bills part of an open period early and is netted at its end.
        batch.add_column(sa.Column("kind", sa.Text, nullable=False, server_default="REGULAR"))
        # subscription/period start/kind/sequence: a billing run drafts each invoice once, whatever the retries.
        batch.add_column(sa.Column("billing_key", sa.Text, nullable=True))
        # JSON: name, email, address lines, tax id as they were when drafted (printed on the PDF).
        batch.add_column(sa.Column("customer_snapshot", sa.Text, nullable=True))
        batch.create_unique_constraint("uq_invoices_billing_key", ["billing_key"])
    op.create_index("ix_invoices_subscription_period", "invoices", ["subscription_id", "period_start"])
    with op.batch_alter_table("invoice_lines") as batch:
        batch.add_column(sa.Column("breakdown", sa.Text, nullable=True))  # JSON list of tier rows
        batch.add_column(sa.Column("event_ids", sa.Text, nullable=True))  # JSON list (ADJUSTMENT lines)
        batch.add_column(sa.Column("group_values", sa.Text, nullable=True))  # JSON object
        batch.add_column(sa.Column("corrects_invoice_id", sa.Text, nullable=True))

    op.create_table(
        "credit_notes",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("number", sa.Text, nullable=False),
        sa.Column("invoice_id", sa.Text, sa.ForeignKey("invoices.id"), nullable=False),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("memo", sa.Text, nullable=False),
        sa.Column("subtotal", sa.Text, nullable=False),
        sa.Column("tax", sa.Text, nullable=False),
        sa.Column("total", sa.Text, nullable=False),
        sa.Column("issued_at", _AT, nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.UniqueConstraint("number", name="uq_credit_notes_number"),
    )
    op.create_index("ix_credit_notes_invoice", "credit_notes", ["invoice_id"])
    op.create_table(
        "credit_note_lines",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column(
            "credit_note_id", sa.Text, sa.ForeignKey("credit_notes.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("invoice_line_id", sa.Text, nullable=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("quantity", sa.Text, nullable=True),
        sa.Column("amount", sa.Text, nullable=False),
        sa.Column("tax", sa.Text, nullable=False),
        sa.Column("event_ids", sa.Text, nullable=True),
        sa.UniqueConstraint("credit_note_id", "position", name="uq_credit_note_lines_position"),
    )

    # Invoicing's copy of catalog's credit grants (what was granted); what is left is the ledger's sum.
    op.create_table(
        "credit_grants",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("amount", sa.Text, nullable=False),
        sa.Column("cost_basis", sa.Text, nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("effective_at", _AT, nullable=False),
        sa.Column("expires_at", _AT, nullable=True),
        sa.Column("recorded_at", _AT, nullable=False),
    )
    op.create_index("ix_credit_grants_customer", "credit_grants", ["customer_id"])
    op.create_table(
        "credit_ledger",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("credit_grant_id", sa.Text, sa.ForeignKey("credit_grants.id"), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),  # GRANTED, BURNED, EXPIRED, REVERSED
        sa.Column("amount", sa.Text, nullable=False),  # signed
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("grant_balance_after", sa.Text, nullable=False),
        sa.Column("invoice_id", sa.Text, nullable=True),
        sa.Column("occurred_at", _AT, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
    )
    op.create_index("ix_credit_ledger_customer", "credit_ledger", ["customer_id", "occurred_at", "id"])
    op.create_index("ix_credit_ledger_invoice", "credit_ledger", ["invoice_id"])

    # Usage that changed after its period's invoice was finalized (UsageLate), waiting for the next invoice.
    op.create_table(
        "late_usage",
        sa.Column("id", sa.Text, primary_key=True),  # the UsageLate message id
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("meter_ids", sa.Text, nullable=False),  # JSON list
        sa.Column("event_ids", sa.Text, nullable=False),  # JSON list
        sa.Column("cause", sa.Text, nullable=False),
        sa.Column("period_start", _AT, nullable=False),
        sa.Column("period_end", _AT, nullable=False),
        sa.Column("detected_at", _AT, nullable=False),
        sa.Column("applied_invoice_id", sa.Text, nullable=True),
    )
    op.create_index("ix_late_usage_customer", "late_usage", ["customer_id", "applied_invoice_id"])

    # Per subscription: invoice early past an amount, and spend/usage alerts; firings are remembered per period.
    op.create_table(
        "billing_controls",
        sa.Column("subscription_id", sa.Text, primary_key=True),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("invoice_threshold", sa.Text, nullable=True),
        sa.Column("spend_alerts", sa.Text, nullable=False),  # JSON list of decimal strings
        sa.Column("usage_alerts", sa.Text, nullable=False),  # JSON list of {charge_id, threshold}
        sa.Column("updated_at", _AT, nullable=False),
    )
    op.create_table(
        "alert_firings",
        sa.Column("subscription_id", sa.Text, primary_key=True),
        sa.Column("alert", sa.Text, primary_key=True),  # spend:<amount> or usage:<charge>:<quantity>
        sa.Column("period_start", _AT, primary_key=True),
        sa.Column("fired_at", _AT, nullable=False),
    )


def downgrade() -> None:
    for table in ("alert_firings", "billing_controls", "late_usage", "credit_ledger", "credit_grants"):
        op.drop_table(table)
    op.drop_table("credit_note_lines")
    op.drop_table("credit_notes")
    op.drop_index("ix_invoices_subscription_period", "invoices")
    with op.batch_alter_table("invoice_lines") as batch:
        for column in ("corrects_invoice_id", "group_values", "event_ids", "breakdown"):
            batch.drop_column(column)
    with op.batch_alter_table("invoices") as batch:
        batch.drop_constraint("uq_invoices_billing_key", type_="unique")
        for column in ("customer_snapshot", "billing_key", "kind"):
            batch.drop_column(column)
