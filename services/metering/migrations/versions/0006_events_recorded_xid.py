"""Which transaction stored each event (PostgreSQL), so a period's close can tell what a usage read saw.

An invoice's usage is read from one point of metering's history, its *usage watermark* (GetUsageWatermark):
on PostgreSQL the oldest transaction still running then (``pg_snapshot_xmin``), on SQLite the next event
``id`` (writers are serialised, so ids grow in commit order). When the period closes, only the period's events
at or past that watermark are flagged late: an event committed before the read was on the invoice. Comparing
clocks (``recorded_at_ms`` against the invoice's ``usage_read_at`` minus a margin) flagged every event of the
last 30 s, so billing right after sending marked on-time usage late.

The column is added without a value for the rows already there (an O(1) ALTER) and filled by its default from
now on: ``pg_current_xact_id()``, the recording transaction's id. Rows without one were stored before any
invoice carried a watermark. SQLite needs nothing: its ``id`` is the rowid.

Revision ID: 0006
"""

from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE events ADD COLUMN recorded_xid xid8")
    op.execute("ALTER TABLE events ALTER COLUMN recorded_xid SET DEFAULT pg_current_xact_id()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE events DROP COLUMN recorded_xid")
