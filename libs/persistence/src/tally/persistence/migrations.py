"""Alembic migrations run from code: no alembic.ini, one call to upgrade, a three-line env.py per service."""

from __future__ import annotations

import zlib
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, text
from sqlalchemy.engine import URL, Connection, Engine

from tally.persistence.engine import create_engine, normalize_url

__all__ = ["DEFAULT_VERSION_TABLE", "current_revision", "run_env", "upgrade"]

DEFAULT_VERSION_TABLE = "alembic_version"
"""Each service owns its database, so the default name never collides; pass another to share one."""


def _config(script_location: Path, version_table: str, connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.attributes["version_table"] = version_table
    if connection is not None:
        config.attributes["connection"] = connection
        config.set_main_option("sqlalchemy.url", connection.engine.url.render_as_string(hide_password=False))
    return config


def upgrade(
    target: Engine | str | URL,
    script_location: Path,
    *,
    revision: str = "head",
    version_table: str = DEFAULT_VERSION_TABLE,
) -> None:
    """Apply ``script_location``'s migrations up to ``revision`` in one transaction."""
    engine = target if isinstance(target, Engine) else create_engine(target)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # A migration may rewrite a large table, and replicas wait here for the first one's lock:
                # the request-sized statement and lock timeouts of the engine do not fit that.
                connection.execute(text("SET LOCAL statement_timeout = 0"))
                connection.execute(text("SET LOCAL lock_timeout = 0"))
                # Replicas starting together would race to apply the same migration; the first one wins the
                # lock, the rest wait and then find nothing to do. Released at commit.
                lock_key = zlib.crc32(f"{script_location.resolve()}:{version_table}".encode())
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key})
            command.upgrade(_config(script_location, version_table, connection), revision)
    finally:
        if engine is not target:
            engine.dispose()


def current_revision(engine: Engine, *, version_table: str = DEFAULT_VERSION_TABLE) -> str | None:
    """The revision the database is at (None before the first migration)."""
    with engine.connect() as connection:
        return MigrationContext.configure(
            connection, opts={"version_table": version_table}
        ).get_current_revision()


def run_env(target_metadata: MetaData | None = None) -> None:
    """Body of every service's ``migrations/env.py``: run the migrations Alembic asked for.

    Online it uses the connection ``upgrade`` passed in (or the configured URL); offline it renders SQL.
    SQLite gets batch mode, since it can only alter tables by copying them.
    """
    config = context.config
    version_table = config.attributes.get("version_table", DEFAULT_VERSION_TABLE)
    if context.is_offline_mode():
        url = normalize_url(config.get_main_option("sqlalchemy.url") or "")
        context.configure(
            url=url,
            target_metadata=target_metadata,
            literal_binds=True,
            version_table=version_table,
            render_as_batch=url.get_backend_name() == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    connection: Connection | None = config.attributes.get("connection")
    if connection is not None:
        _run_online(connection, target_metadata, version_table)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.begin() as own_connection:
            _run_online(own_connection, target_metadata, version_table)
    finally:
        engine.dispose()


def _run_online(connection: Connection, target_metadata: MetaData | None, version_table: str) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=version_table,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
