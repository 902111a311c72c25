"""SQLAlchemy engines for a service's own database: SQLite (embedded default) or PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url

from tally.persistence.statement_spans import trace_statements

__all__ = ["create_engine", "default_sqlite_url", "normalize_url"]

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for another process's write lock before failing."""


def default_sqlite_url(data_dir: str | Path, service: str) -> str:
    """The embedded default: one SQLite file per service under the data directory."""
    return f"sqlite:///{(Path(data_dir) / f'{service}.db').resolve()}"


def normalize_url(url: str | URL) -> URL:
    """Parse ``url``; plain ``postgresql://`` (and ``postgres://``) URLs use the psycopg 3 driver."""
    if isinstance(url, str) and url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def create_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine for ``url``, tuned per dialect; extra keyword arguments go to SQLAlchemy."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, **kwargs)
    kwargs.setdefault("pool_pre_ping", True)  # connections die across PostgreSQL restarts and failovers
    return trace_statements(sqlalchemy.create_engine(parsed, **kwargs))


def _sqlite_engine(url: URL, **kwargs: Any) -> Engine:
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sqlalchemy.create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL lets readers run beside the one writer (relay, consumers and the gRPC server share the file);
        # NORMAL is durable across process crashes in WAL mode, losing at most the last commits on power loss.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return trace_statements(engine)
