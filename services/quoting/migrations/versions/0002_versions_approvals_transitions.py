"""Quotes get versions, approvals and transitions: each version's terms move to quote_versions (schema 1).

The quotes row keeps the current state (status, version, validity, acceptance, the subscription catalog
made) and a ``revision`` counter that makes concurrent changes conflict instead of overwriting each other.
Drafts stored before keep their terms as version 1: their lines, and each line's estimated quantity as a
usage assumption on that charge's meter for every period.

Revision ID: 0002
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def _moment(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _instant(value: datetime | None) -> str | None:
    # SQLite hands timestamps back without their zone; they were stored in UTC.
    if value is None:
        return None
    return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).isoformat()


def _terms(row: Any) -> str:
    """Version 1 of a draft stored before versions: the schema-1 document of its columns and lines."""
    lines, assumptions = [], []
    for line in json.loads(row.lines):
        lines.append(
            {
                "charge_id": line["charge_id"],
                "description": line["description"],
                "price": None,
                "included_quantity": line["included_quantity"],
            }
        )
        if line["estimated_quantity"] is not None:
            usage = {"kind": "quantity", "quantity": line["estimated_quantity"]}
            assumptions.append({"meter_id": "", "charge_id": line["charge_id"], "period": 0, "usage": usage})
    document = {
        "schema": 1,
        "customer_id": row.customer_id,
        "prospect": None,
        "currency": row.currency,
        "plan_version_id": row.plan_version_id,
        "start_at": _instant(row.start_at),
        "term_months": row.term_months,
        "billing_cycle": row.billing_cycle.removeprefix("BILLING_CYCLE_") or None,
        "anniversary": False,
        "valid_until": _instant(row.valid_until),
        "payment_terms_days": 0,
        "lines": lines,
        "discounts": [],
        "minimum_commitment": None,
        "prepaid_credit": None,
        "ramps": [],
        "assumptions": assumptions,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def upgrade() -> None:
    conn = op.get_bind()
    stored = sa.table(
        "quotes",
        *(
            sa.column(name, sa.Text)
            for name in ("id", "status", "customer_id", "currency", "plan_version_id")
        ),
        *(sa.column(name, sa.Text) for name in ("billing_cycle", "lines")),
        sa.column("version", sa.Integer),
        sa.column("term_months", sa.Integer),
        *(sa.column(name, sa.DateTime(timezone=True)) for name in ("start_at", "valid_until", "created_at")),
    )
    old = conn.execute(sa.select(stored)).all()
    # SQLite rebuilds the altered table: alter it before tables referring to it exist.
    with op.batch_alter_table("quotes") as quotes:
        for moved in ("plan_version_id", "billing_cycle", "term_months", "start_at", "lines"):
            quotes.drop_column(moved)
        quotes.add_column(sa.Column("subscription_id", sa.Text, nullable=True))
        quotes.add_column(sa.Column("rejection_reason", sa.Text, nullable=False, server_default=""))
        quotes.add_column(sa.Column("signer_name", sa.Text, nullable=True))
        quotes.add_column(sa.Column("signer_email", sa.Text, nullable=True))
        quotes.add_column(_moment("accepted_at", nullable=True))
        quotes.add_column(sa.Column("revision", sa.BigInteger, nullable=False, server_default="1"))
    op.create_index("ix_quotes_subscription_id", "quotes", ["subscription_id"])

    versions = op.create_table(
        "quote_versions",
        sa.Column("quote_id", sa.Text, sa.ForeignKey("quotes.id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("terms", sa.Text, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        _moment("created_at"),
        sa.PrimaryKeyConstraint("quote_id", "version"),
    )
    op.create_table(
        "quote_approvals",
        sa.Column("quote_id", sa.Text, sa.ForeignKey("quotes.id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("rule_id", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("approver_role", sa.Text, nullable=False),
        sa.Column("approved_by", sa.Text, nullable=True),
        _moment("approved_at", nullable=True),
        sa.PrimaryKeyConstraint("quote_id", "version", "rule_id"),
    )
    transitions = op.create_table(
        "quote_transitions",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("quote_id", sa.Text, sa.ForeignKey("quotes.id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("from_status", sa.Text, nullable=True),
        sa.Column("to_status", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        _moment("at"),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_index("ix_quote_transitions_quote_id", "quote_transitions", ["quote_id", "id"])

    for row in old:
        conn.execute(
            sa.insert(versions).values(
                quote_id=row.id,
                version=row.version,
                terms=_terms(row),
                created_by="",
                created_at=row.created_at,
            )
        )
        conn.execute(
            sa.insert(transitions).values(
                quote_id=row.id,
                version=row.version,
                from_status=None,
                to_status=row.status,
                actor="",
                at=row.created_at,
                reason="stored before quote history was kept",
            )
        )


def downgrade() -> None:
    raise NotImplementedError("quote versions are not folded back into one row; restore a backup instead")
