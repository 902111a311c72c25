"""Migrations, outbox, inbox and the in-process relay on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from nats.aio.client import Client as NATS
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy.engine import Engine

from tally.mesh import jetstream
from tally.persistence import inbox, migrations, outbox
from tally.persistence.engine import create_engine
from tally.persistence.relay import OutboxRelay

INVOICES = jetstream.StreamSpec(name="INVOICES", subjects=("invoices.>",))


async def eventually(predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def outbox_rows(engine: Engine) -> list[sa.Row[tuple[str, str, bytes, str, object]]]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                sa.text("SELECT msg_id, subject, payload, headers, published_at FROM outbox ORDER BY id")
            )
        )


def test_migrations_upgrade_an_empty_database_to_head(database_url: str, migrations_dir: Path) -> None:
    migrations.upgrade(database_url, migrations_dir)
    migrations.upgrade(database_url, migrations_dir)  # at head already: nothing to do

    engine = create_engine(database_url)
    try:
        assert migrations.current_revision(engine) == "0002"
        inspector = sa.inspect(engine)
        assert {"outbox", "inbox", "counters", "alembic_version"} <= set(inspector.get_table_names())
        assert {c["name"] for c in inspector.get_columns("counters")} == {"name", "value", "note"}
        assert "ix_outbox_unpublished" in {i["name"] for i in inspector.get_indexes("outbox")}
    finally:
        engine.dispose()


def test_migrations_keep_their_own_version_table(database_url: str, migrations_dir: Path) -> None:
    migrations.upgrade(database_url, migrations_dir, revision="0001", version_table="invoicing_version")

    engine = create_engine(database_url)
    try:
        assert migrations.current_revision(engine, version_table="invoicing_version") == "0001"
        assert "alembic_version" not in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_an_outbox_event_in_a_rolled_back_transaction_is_never_stored(engine: Engine) -> None:
    with engine.connect() as conn:
        outbox.enqueue(conn, "invoices.finalized", b"inv_1", "invoice-finalized:inv_1")
        conn.rollback()

    assert outbox_rows(engine) == []


def test_an_outbox_event_carries_the_writers_trace(engine: Engine, spans: InMemorySpanExporter) -> None:
    with trace.get_tracer("test").start_as_current_span("finalize invoice") as span, engine.begin() as conn:
        outbox.enqueue(conn, "invoices.finalized", b"inv_1", "invoice-finalized:inv_1", {"Tenant": "acme"})
    trace_id = format(span.get_span_context().trace_id, "032x")

    [row] = outbox_rows(engine)
    headers = json.loads(row.headers)
    assert row.msg_id == "invoice-finalized:inv_1"
    assert row.payload == b"inv_1"
    assert row.published_at is None
    assert headers["Tenant"] == "acme"
    assert headers["traceparent"].split("-")[1] == trace_id


def test_an_inbox_claim_succeeds_once_per_consumer(engine: Engine) -> None:
    with engine.begin() as conn:
        assert inbox.claim(conn, "erp-sync", "invoice-finalized:inv_1") is True
    with engine.begin() as conn:
        assert inbox.claim(conn, "erp-sync", "invoice-finalized:inv_1") is False
        assert inbox.claim(conn, "invoicing", "invoice-finalized:inv_1") is True


def test_a_rolled_back_claim_can_be_claimed_again(engine: Engine) -> None:
    with engine.connect() as conn:
        assert inbox.claim(conn, "erp-sync", "invoice-finalized:inv_1") is True
        conn.rollback()
    with engine.begin() as conn:
        assert inbox.claim(conn, "erp-sync", "invoice-finalized:inv_1") is True


async def test_the_relay_publishes_in_order_and_marks_after_the_ack(
    engine: Engine, nc: NATS, spans: InMemorySpanExporter
) -> None:
    js = nc.jetstream()
    await jetstream.ensure_stream(js, INVOICES)
    relay = OutboxRelay(engine, js, poll_interval_s=30)  # only wake() can make it this quick
    await relay.start()
    try:
        with trace.get_tracer("test").start_as_current_span("finalize invoices") as span:
            with engine.begin() as conn:
                for n in range(1, 4):
                    outbox.enqueue(conn, f"invoices.finalized.inv_{n}", f"inv_{n}".encode(), f"fin:inv_{n}")
            relay.wake()
        await eventually(lambda: all(row.published_at is not None for row in outbox_rows(engine)), 5)
    finally:
        await relay.stop()

    stored = [await js.get_msg("INVOICES", seq) for seq in (1, 2, 3)]
    assert [m.data for m in stored] == [b"inv_1", b"inv_2", b"inv_3"]
    assert [m.headers["Nats-Msg-Id"] for m in stored if m.headers] == ["fin:inv_1", "fin:inv_2", "fin:inv_3"]
    publishes = [s for s in spans.get_finished_spans() if s.name.endswith(" publish")]
    assert len(publishes) == 3
    assert {s.context.trace_id for s in publishes} == {span.get_span_context().trace_id}


async def test_the_relay_keeps_rows_unpublished_while_the_broker_is_down(
    engine: Engine, nc: NATS, nats_server: object
) -> None:
    js = nc.jetstream()
    await jetstream.ensure_stream(js, INVOICES)
    with engine.begin() as conn:
        outbox.enqueue(conn, "invoices.finalized", b"inv_1", "fin:inv_1")
    # No stream for this subject: the broker answers with no responders, as if the stream were unavailable.
    await js.delete_stream("INVOICES")
    relay = OutboxRelay(engine, js, poll_interval_s=0.05, publish_timeout_s=0.5, retry_max_s=0.2)
    await relay.start()
    try:
        await asyncio.sleep(1.0)
        assert outbox_rows(engine)[0].published_at is None
        await jetstream.ensure_stream(js, INVOICES)
        await eventually(lambda: outbox_rows(engine)[0].published_at is not None, 5)
    finally:
        await relay.stop()
    assert (await js.stream_info("INVOICES")).state.messages == 1
