"""Products, prices, plans with immutable versions, subscriptions (overrides, phases, quotes), credit grants.

Price models, plan-version terms and subscription overrides/phases are stored as the proto3 JSON form of
their tally.api.catalog.v1 messages: readable in SQL, and read back through the same converter as the wire.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def _moment(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        _moment("created_at"),
    )
    op.create_table(
        "prices",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("product_id", sa.Text, sa.ForeignKey("products.id"), nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("meter_id", sa.Text, nullable=False),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("terms", sa.Text, nullable=False),
        _moment("created_at"),
    )
    op.create_index("ix_prices_product_id", "prices", ["product_id", "id"])
    op.create_table(
        "plans",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("latest_version", sa.Integer, nullable=False),
        _moment("created_at"),
    )
    op.create_table(
        "plan_versions",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("plan_id", sa.Text, sa.ForeignKey("plans.id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("terms", sa.Text, nullable=False),
        _moment("published_at"),
        sa.UniqueConstraint("plan_id", "version", name="uq_plan_versions_plan_version"),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("plan_version_id", sa.Text, sa.ForeignKey("plan_versions.id"), nullable=False),
        _moment("start_at"),
        sa.Column("billing_cycle", sa.Text, nullable=False),
        sa.Column("billing_anchor", sa.Text, nullable=False),
        _moment("end_at", nullable=True),
        _moment("cancel_at", nullable=True),
        sa.Column("cancel_reason", sa.Text, nullable=False),
        sa.Column("terms", sa.Text, nullable=False),
        sa.Column("quote_id", sa.Text, nullable=True),
        sa.Column("quote_version", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        _moment("created_at"),
        _moment("updated_at"),
        sa.UniqueConstraint("quote_id", name="uq_subscriptions_quote_id"),
    )
    op.create_index("ix_subscriptions_customer_id", "subscriptions", ["customer_id", "id"])
    op.create_table(
        "credit_grants",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("amount", sa.Text, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("cost_basis", sa.Text, nullable=False),
        _moment("expires_at", nullable=True),
        sa.Column("priority", sa.Integer, nullable=False),
        _moment("effective_at", nullable=True),
        sa.Column("description", sa.Text, nullable=False),
        _moment("created_at"),
    )
    op.create_index("ix_credit_grants_customer_id", "credit_grants", ["customer_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_credit_grants_customer_id", table_name="credit_grants")
    op.drop_table("credit_grants")
    op.drop_index("ix_subscriptions_customer_id", table_name="subscriptions")
    op.drop_table("subscriptions")
    op.drop_table("plan_versions")
    op.drop_table("plans")
    op.drop_index("ix_prices_product_id", table_name="prices")
    op.drop_table("prices")
    op.drop_table("products")
