"""Gap-free document numbers per series (``INV-2026-000123``), taken inside the caller's finalize transaction.

A series is a prefix and a year; its row in ``number_series`` holds the next value to hand out. Taking a
number is one upsert that advances the counter and returns it: PostgreSQL locks the row until the taking
transaction ends, so concurrent finalizes queue behind it, and SQLite's single writer serializes them. A
finalize that rolls back rolls its increment back too, so no number is ever skipped or handed out twice.

On SQLite, take the number before the transaction reads anything, or open it with BEGIN IMMEDIATE: a WAL
transaction that read first cannot wait for the write lock and fails with "database is locked" instead.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, MetaData, Table, Text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

metadata = MetaData()

number_series = Table(
    "number_series",
    metadata,
    Column("series", Text, primary_key=True),
    Column("next_value", BigInteger, nullable=False),
)

INVOICE_PREFIX = "INV"
CREDIT_NOTE_PREFIX = "CN"
DIGITS = 6
"""Zero-padded width of the sequence part; larger values simply print wider."""


def series_for(prefix: str, issued_at: datetime) -> str:
    """The series a document issued at ``issued_at`` draws from: ``INV-2026``; numbering restarts each year."""
    return f"{prefix}-{issued_at.year:04d}"


def format_number(series: str, value: int) -> str:
    return f"{series}-{value:0{DIGITS}d}"


def take_value(connection: Connection, series: str) -> int:
    """The next value of ``series`` (1 for a new series), committed or rolled back with ``connection``'s
    transaction."""
    return take_values(connection, series, 1)


def take_values(connection: Connection, series: str, count: int) -> int:
    """Reserves ``count`` consecutive values of ``series`` and returns the first (``count`` may be 0: that
    only locks the series, which on SQLite also takes the database's write lock)."""
    dialect = connection.dialect.name
    insert: postgresql.Insert | sqlite.Insert
    if dialect == "postgresql":
        insert = postgresql.insert(number_series)
    elif dialect == "sqlite":
        insert = sqlite.insert(number_series)
    else:  # pragma: no cover - the two databases Tally runs on
        raise NotImplementedError(f"number series on {dialect}")
    statement = (
        insert.values(series=series, next_value=1 + count)
        .on_conflict_do_update(
            index_elements=[number_series.c.series],
            set_={"next_value": number_series.c.next_value + count},
        )
        .returning(number_series.c.next_value)
    )
    advanced = connection.execute(statement).scalar_one()
    return int(advanced) - count


def take_number(connection: Connection, prefix: str, issued_at: datetime) -> str:
    """The next document number for ``prefix`` in ``issued_at``'s year, e.g. ``INV-2026-000123``."""
    series = series_for(prefix, issued_at)
    return format_number(series, take_value(connection, series))
