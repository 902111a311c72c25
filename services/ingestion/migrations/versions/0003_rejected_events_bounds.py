"""Indexes that keep the rejected-events log fast while it is bounded (retention and a cap per producer).

ListRejected pages newest first by id, often for one producer: (producer_id, id) answers such a page by reading
just its rows, where (producer_id, received_at) left the database sorting all of the producer's rejections.
The retention prune deletes by received_at across producers: (received_at) finds those rows.

Revision ID: 0003
"""

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_index("ix_rejected_events_producer_id", "rejected_events", ["producer_id", "id"])
    op.create_index("ix_rejected_events_received_at", "rejected_events", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_rejected_events_received_at", table_name="rejected_events")
    op.drop_index("ix_rejected_events_producer_id", table_name="rejected_events")
