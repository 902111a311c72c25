"""Usage watermarks: a point in metering's history that tells the events a later usage read may miss.

An invoice reads usage, then (moments or days later) is finalized, and its InvoiceFinalized closes the period.
Events of the period committed after the read are not on the invoice and must be reported late; events
committed before it are on the invoice and must not be. Clocks cannot split the two exactly (an event's commit
follows its stamp, hosts drift), so invoicing asks for a watermark before it reads and passes it on the invoice:

- SQLite: the next event ``id``. One writer at a time (``BEGIN IMMEDIATE``) hands out rowids in commit order,
  so every event at or past the watermark was committed after it was taken.
- PostgreSQL: the oldest transaction id still running (``pg_snapshot_xmin``). An event its read could not see
  was stored by a transaction running then or started later, whose id is at or past it (``recorded_xid``,
  migration 0006). A transaction that committed just before the read with an id past the oldest running one
  is swept too: a re-price that finds nothing to add, never a miss.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Connection, Engine, TextClause, func, select, text

from tally.metering.store import events


def usage_watermark(engine: Engine) -> int:
    """The watermark now: every event a usage read started after this call can miss is at or past it."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            found = conn.execute(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"))
            return int(found.scalar_one())
        return int(conn.execute(select(func.coalesce(func.max(events.c.id), 0) + 1)).scalar_one())


class WatermarkStore:
    """Takes usage watermarks on one database (for GetUsageWatermark)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def now(self) -> int:
        return usage_watermark(self._engine)


def stored_since(conn: Connection, watermark: int) -> ColumnElement[bool] | TextClause:
    """The condition on ``events`` that an event was stored at or past ``watermark``."""
    if conn.dialect.name == "postgresql":
        # Events stored before migration 0006 have no transaction id (NULL, never true here): they predate
        # every watermark. The column is not in the Table, which both databases share.
        return text("events.recorded_xid >= CAST(CAST(:watermark AS text) AS xid8)").bindparams(
            watermark=str(watermark)
        )
    return events.c.id >= watermark
