"""The INSERT that can say ON CONFLICT, for whichever of the two supported databases a service runs on."""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite


def upsert_insert(table: Table, dialect_name: str) -> postgresql.Insert | sqlite.Insert:
    """``INSERT INTO table`` with ``on_conflict_do_nothing`` / ``on_conflict_do_update`` available."""
    if dialect_name == "postgresql":
        return postgresql.insert(table)
    if dialect_name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"Tally stores data in PostgreSQL or SQLite, not {dialect_name}")
