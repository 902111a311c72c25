"""Engine URLs and SQLite tuning."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from tally.persistence.engine import create_engine, default_sqlite_url, normalize_url


def test_plain_postgresql_urls_use_psycopg_3() -> None:
    assert normalize_url("postgresql://u@db:5432/metering").drivername == "postgresql+psycopg"
    assert normalize_url("postgres://u@db/metering").drivername == "postgresql+psycopg"
    assert normalize_url("postgresql+psycopg://u@db/metering").drivername == "postgresql+psycopg"
    assert normalize_url("sqlite:///x.db").drivername == "sqlite"


def test_postgresql_engines_check_connections_before_use() -> None:
    engine = create_engine("postgresql://u@db/metering")
    assert engine.pool._pre_ping is True
    assert engine.url.database == "metering"


def test_the_default_sqlite_url_is_one_file_per_service(tmp_path: Path) -> None:
    url = default_sqlite_url(tmp_path / "data", "metering")
    assert url == f"sqlite:///{tmp_path / 'data' / 'metering.db'}"


def test_sqlite_gets_wal_a_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    engine = create_engine(default_sqlite_url(tmp_path / "nested" / "data", "catalog"))
    try:
        with engine.connect() as conn:
            pragma = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
            }
    finally:
        engine.dispose()
    assert (tmp_path / "nested" / "data" / "catalog.db").exists()
    assert pragma == {"journal_mode": "wal", "synchronous": 1, "busy_timeout": 30_000, "foreign_keys": 1}


def test_sqlite_enforces_foreign_keys(tmp_path: Path) -> None:
    engine = create_engine(default_sqlite_url(tmp_path, "catalog"))
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE plan (id INTEGER PRIMARY KEY)")
            conn.exec_driver_sql("CREATE TABLE subscription (plan_id INTEGER REFERENCES plan(id))")
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO subscription VALUES (42)")
    finally:
        engine.dispose()
