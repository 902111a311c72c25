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
"""How long a SQLite writer waits for another process's write lock before failing. SQLite has no statement
timeout: a query runs to its end (readers never wait for the writer in WAL mode, so only writers can wait)."""

STATEMENT_TIMEOUT_S = 30.0
"""PostgreSQL default: the longest one statement may run before the server cancels it (SQLSTATE 57014)."""

LOCK_TIMEOUT_S = 5.0
"""PostgreSQL default: the longest a statement waits for a lock (SQLSTATE 55P03), so a table locked by
someone else makes a request fail fast as UNAVAILABLE instead of holding a worker thread until it is free."""

CONNECT_TIMEOUT_S = 5
"""PostgreSQL: seconds to establish a connection; an unreachable host fails fast instead of hanging."""


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


def create_engine(
    url: str | URL,
    *,
    statement_timeout_s: float = STATEMENT_TIMEOUT_S,
    lock_timeout_s: float = LOCK_TIMEOUT_S,
    **kwargs: Any,
) -> Engine:
    """An engine for ``url``, tuned per dialect; extra keyword arguments go to SQLAlchemy.

    On PostgreSQL every statement of every connection runs under ``statement_timeout_s`` and
    ``lock_timeout_s`` (0 disables one); SQLite has neither and waits up to its busy timeout for a write lock.
    """
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, **kwargs)
    kwargs.setdefault("pool_pre_ping", True)  # connections die across PostgreSQL restarts and failovers
    connect_args = dict(kwargs.pop("connect_args", {}))
    connect_args.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
    # A server that vanished without closing the connection (a dead node, a dropped route) is noticed in
    # about 25 s by TCP keepalives, not after the operating system's default of two hours; the statement
    # timeout cannot help there, since the server that would enforce it is gone.
    connect_args.setdefault("keepalives", 1)
    connect_args.setdefault("keepalives_idle", 10)
    connect_args.setdefault("keepalives_interval", 5)
    connect_args.setdefault("keepalives_count", 3)
    timeouts = f"-c statement_timeout={round(statement_timeout_s * 1000)} -c lock_timeout={round(lock_timeout_s * 1000)}"
    connect_args["options"] = f"{connect_args.get('options', '')} {timeouts}".strip()
    return trace_statements(sqlalchemy.create_engine(parsed, connect_args=connect_args, **kwargs))


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
