"""Databases for tests: a SQLite file, or a fresh PostgreSQL database created and dropped per test."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy import text
from sqlalchemy.pool import NullPool

from tally.persistence.engine import normalize_url

__all__ = ["fresh_postgres_database", "postgres_admin_url", "postgres_skips", "sqlite_url"]

_DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

postgres_skips: list[str] = []
"""Why PostgreSQL tests were skipped this session; reported at the end so a skip is never taken for a pass."""

_unreachable: str | None = None


def postgres_admin_url() -> str:
    """The server tests create databases on: ``TALLY_TEST_DATABASE_URL``, else the local default."""
    return os.environ.get("TALLY_TEST_DATABASE_URL") or _DEFAULT_ADMIN_URL


def _require_postgres() -> bool:
    return os.environ.get("TALLY_REQUIRE_POSTGRES", "") == "1"


def sqlite_url(directory: Path) -> str:
    return f"sqlite:///{directory / 'test.db'}"


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new empty database for one test, dropped afterwards; skips (or fails) if PostgreSQL is down."""
    global _unreachable
    if _unreachable is None:
        admin_url = normalize_url(postgres_admin_url())
        admin = sqlalchemy.create_engine(
            admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool, connect_args={"connect_timeout": 3}
        )
        name = f"tally_test_{secrets.token_hex(6)}"
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        except sqlalchemy.exc.OperationalError as exc:
            # One unreachable server would cost every later test a connect timeout; remember it.
            reason = " ".join(str(exc.orig or exc).split())
            _unreachable = f"PostgreSQL at {admin_url.render_as_string()} unreachable: {reason}"
            admin.dispose()
        else:
            try:
                yield admin_url.set(database=name).render_as_string(hide_password=False)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
            return
    if _require_postgres():
        pytest.fail(f"{_unreachable} (TALLY_REQUIRE_POSTGRES=1)")
    postgres_skips.append(_unreachable)
    pytest.skip(_unreachable)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database for this test."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of an empty database: each test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    with fresh_postgres_database() as url:
        yield url


def set_connections(database_url: str, allowed: bool) -> None:
    """Open or close a PostgreSQL database to new connections; closing also ends every session it has.

    What a database outage looks like to its service: connections refused, the ones in use broken.
    """
    name = normalize_url(database_url).database
    admin = sqlalchemy.create_engine(
        normalize_url(postgres_admin_url()), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    try:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}'))
            if not allowed:
                conn.execute(
                    text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                    {"name": name},
                )
    finally:
        admin.dispose()
