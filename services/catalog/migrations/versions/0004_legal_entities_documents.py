"""Legal entities that issue invoices (each with its own number series); customers assigned to one, with how their
documents are addressed, printed and taxed; subscriptions' references (quote number, purchase order, contract);
credit grants applied before tax (promotional) or after (prepaid).

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "legal_entities",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("legal_name", sa.Text, nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("logo", sa.LargeBinary, nullable=True),
        sa.Column("number_prefix", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("number_prefix", name="uq_legal_entities_number_prefix"),
    )
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("legal_entity_id", sa.Text, nullable=True))
        batch.add_column(sa.Column("documents", sa.Text, nullable=False, server_default="{}"))
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("document_references", sa.Text, nullable=False, server_default="{}"))
    with op.batch_alter_table("credit_grants") as batch:
        batch.add_column(sa.Column("kind", sa.Text, nullable=False, server_default="PREPAID"))


def downgrade() -> None:
    with op.batch_alter_table("credit_grants") as batch:
        batch.drop_column("kind")
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("document_references")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("documents")
        batch.drop_column("legal_entity_id")
    op.drop_table("legal_entities")
