"""Gap-free document numbers (``INV-2026-000123``): one series per prefix and year, written zero-padded (pure).

Each legal entity with a number prefix has its own series (``UK-INV-2026-000001``, ``UK-CN-2026-000001``);
invoices of the install's default issuer, or of an entity without a prefix, use ``INV`` and ``CN``.
A series is a prefix and a year; the store keeps the next value of each (``number_series``). A number is taken by
the first statement of the transaction that issues the document (``NumberSeries.take``): PostgreSQL then locks
the series row until that transaction ends, so concurrent issuers queue behind it, and on SQLite that write takes
the database's write lock before anything is read (a WAL transaction that read first could not wait for it and
would fail with "database is locked"). A transaction that rolls back rolls its increment back too, so no number
is ever skipped or handed out twice.
"""

from __future__ import annotations

from datetime import datetime

INVOICE_PREFIX = "INV"
CREDIT_NOTE_PREFIX = "CN"
DIGITS = 6
"""Zero-padded width of the sequence part; larger values simply print wider."""


def invoice_prefix(entity_prefix: str) -> str:
    """The prefix of the invoices of a legal entity numbered ``entity_prefix`` (empty: the install's)."""
    return f"{entity_prefix}-{INVOICE_PREFIX}" if entity_prefix else INVOICE_PREFIX


def credit_note_prefix(entity_prefix: str) -> str:
    return f"{entity_prefix}-{CREDIT_NOTE_PREFIX}" if entity_prefix else CREDIT_NOTE_PREFIX


def series_for(prefix: str, issued_at: datetime) -> str:
    """The series a document issued at ``issued_at`` draws from: ``INV-2026``; numbering restarts each year."""
    return f"{prefix}-{issued_at.year:04d}"


def format_number(series: str, value: int) -> str:
    return f"{series}-{value:0{DIGITS}d}"
