"""Alter a table in place, which SQLite can only do in batch mode (copy and swap)."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    with op.batch_alter_table("counters") as batch:
        batch.add_column(sa.Column("note", sa.Text, nullable=True))
        batch.alter_column("value", server_default="0")


def downgrade() -> None:
    with op.batch_alter_table("counters") as batch:
        batch.alter_column("value", server_default=None)
        batch.drop_column("note")
