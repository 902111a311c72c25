"""Which ``UsageWriter`` records into a database: chosen once, by the composition root (or a test)."""

from __future__ import annotations

from sqlalchemy import Engine

from tally.metering.recording.postgresql import PostgresUsageWriter
from tally.metering.recording.sqlite import SqliteUsageWriter
from tally.metering.recording.writer import UsageWriter


def usage_writer(engine: Engine, *, keep_connection: bool = False) -> UsageWriter:
    """The writer for ``engine``'s database; ``keep_connection`` keeps SQLite's writer connection (and cache)."""
    if engine.dialect.name == "postgresql":
        return PostgresUsageWriter(engine)
    return SqliteUsageWriter(engine, keep_connection=keep_connection)
