"""Gap-free document numbers: one counter row per series (prefix and year), advanced inside finalization.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "number_series",
        sa.Column("series", sa.Text, primary_key=True),
        sa.Column("next_value", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("number_series")
