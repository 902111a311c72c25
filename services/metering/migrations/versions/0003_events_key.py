"""Events on PostgreSQL: the (producer_id, event_id) unique key is the only per-event key index.

The hot path inserts by that key; a second B-tree on the surrogate ``id`` cost a fifth of the insert time and
nothing reads by ``id`` alone (lookups go by producer and event id; ``id`` only breaks ties among a
customer's events at one instant, found through ``ix_events_customer_time``). ``id`` stays, NOT NULL and
filled from its sequence, as the arrival order. SQLite keeps it as the rowid, which costs no index.

Revision ID: 0003
"""

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("events_pkey", "events", type_="primary")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_primary_key("events_pkey", "events", ["id"])
