"""Which real database failures count as an outage (retry later) and which are the data's own fault."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from google.rpc import code_pb2, error_details_pb2

from tally.mesh.errors import to_rpc_status
from tally.persistence import transient
from tally.persistence.engine import create_engine
from tally.persistence.transient import database_outage
from tally.testing.databases import set_connections
from tally.testing.ports import free_port


def failure(engine: sa.Engine, sql: str) -> BaseException:
    with pytest.raises(sa.exc.DBAPIError) as caught, engine.begin() as conn:
        conn.exec_driver_sql(sql)
    return caught.value


@pytest.fixture
def postgres(postgres_url: str):
    engine = create_engine(postgres_url, statement_timeout_s=1.0, lock_timeout_s=0.3)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE usage (id TEXT PRIMARY KEY, quantity NUMERIC(10, 2))")
        conn.exec_driver_sql("INSERT INTO usage VALUES ('e1', 1)")
    yield engine
    engine.dispose()


@pytest.mark.postgres
def test_postgres_outages_are_transient(postgres: sa.Engine, postgres_url: str) -> None:
    assert database_outage(failure(postgres, "SELECT pg_sleep(3)")) == transient.STATEMENT_TIMEOUT

    locked = threading.Event()
    release = threading.Event()

    def hold_the_table() -> None:
        with postgres.begin() as conn:
            conn.exec_driver_sql("SET LOCAL lock_timeout = 0")
            conn.exec_driver_sql("LOCK TABLE usage IN ACCESS EXCLUSIVE MODE")
            locked.set()
            release.wait(10)

    holder = threading.Thread(target=hold_the_table)
    holder.start()
    locked.wait(5)
    started = time.monotonic()
    try:
        lock_failure = failure(postgres, "SELECT * FROM usage")
    finally:
        release.set()
        holder.join()
    assert database_outage(lock_failure) == transient.LOCK_TIMEOUT
    assert time.monotonic() - started < 2  # the lock timeout, not the lock holder, decided

    set_connections(postgres_url, allowed=False)
    try:
        assert database_outage(failure(postgres, "SELECT 1")) == transient.UNREACHABLE
    finally:
        set_connections(postgres_url, allowed=True)

    refused = create_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere")
    assert database_outage(failure(refused, "SELECT 1")) == transient.UNREACHABLE


@pytest.mark.postgres
def test_postgres_content_failures_are_not_transient(postgres: sa.Engine) -> None:
    assert database_outage(failure(postgres, "INSERT INTO usage VALUES ('e1', 2)")) is None  # duplicate key
    assert database_outage(failure(postgres, "INSERT INTO usage VALUES ('e2', 1E+999)")) is None  # overflow
    assert database_outage(failure(postgres, "SELECT * FROM no_such_table")) is None


def test_a_locked_sqlite_database_is_transient_and_bad_sql_is_not(tmp_path: Path) -> None:
    path = tmp_path / "usage.db"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("CREATE TABLE usage (id TEXT PRIMARY KEY)")
    writer.execute("BEGIN IMMEDIATE")
    impatient = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.05})
    try:
        assert database_outage(failure(impatient, "INSERT INTO usage VALUES ('e1')")) == transient.BUSY
        assert database_outage(failure(impatient, "SELECT * FROM no_such_table")) is None
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        impatient.dispose()


@pytest.mark.postgres
def test_an_outage_answers_unavailable_with_retry_info(postgres: sa.Engine) -> None:
    status = to_rpc_status(failure(postgres, "SELECT pg_sleep(3)"), database_outage)

    assert status.code == code_pb2.UNAVAILABLE
    assert status.message == f"temporarily unavailable: {transient.STATEMENT_TIMEOUT}; retry"
    retry = error_details_pb2.RetryInfo()
    assert status.details[0].Unpack(retry)
    assert retry.retry_delay.seconds == 1
    bug = to_rpc_status(failure(postgres, "SELECT * FROM no_such_table"), database_outage)
    assert bug.code == code_pb2.INTERNAL
