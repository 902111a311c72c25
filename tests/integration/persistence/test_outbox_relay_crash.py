"""An outbox event survives a relay killed before the broker acknowledged it: after restart it is delivered,
and the inbox consumer applies it exactly once."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from nats.aio.client import Client as NATS
from sqlalchemy.engine import Engine

from tally.mesh import jetstream
from tally.mesh.jetstream import ConsumerSpec, Delivery, PullConsumer, StreamSpec
from tally.persistence import inbox, outbox
from tally.testing.nats_server import NatsServer

CONSUMER = "erp-sync"
MSG_ID = "invoice-finalized:inv_1"


async def eventually(predicate: Callable[[], bool], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


class RelayProcess:
    """``python -m tally.persistence.relay`` as a real process, its log read line by line."""

    def __init__(self, database_url: str, nats_url: str) -> None:
        self._lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tally.persistence.relay",
                "--nats-url",
                nats_url,
                "--poll-interval",
                "0.05",
                "--publish-timeout",
                "60",  # far longer than the test: the publish stays in flight until the kill
                "--log-level",
                "DEBUG",
            ],
            stderr=subprocess.PIPE,
            text=True,
            # The database URL (a password, in production) from the environment, never the command line.
            env={**os.environ, "TALLY_DATABASE_URL": database_url},
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._lines.put(line)

    def wait_for(self, text: str, timeout_s: float = 15.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=0.1)
            except queue.Empty:
                if self.process.poll() is not None:
                    raise AssertionError(f"relay exited: {''.join(self.log)}") from None
                continue
            self.log.append(line)
            if text in line:
                return
        raise AssertionError(f"relay never logged {text!r}: {''.join(self.log)}")

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


class Ledger:
    """The consuming side: a pull consumer that claims each message in the inbox and counts it, in one
    transaction, so a redelivered or re-published event is seen again but applied once."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.deliveries = 0

    def apply(self, msg_id: str) -> None:
        with self.engine.begin() as conn:
            if inbox.claim(conn, CONSUMER, msg_id):
                conn.execute(sa.text("UPDATE counters SET value = value + 1 WHERE name = 'invoices'"))

    async def handle(self, delivery: Delivery) -> None:
        assert delivery.msg_id is not None
        await asyncio.to_thread(self.apply, delivery.msg_id)
        self.deliveries += 1

    def applied(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(sa.text("SELECT value FROM counters WHERE name = 'invoices'")).scalar_one()
            )


def published_at(engine: Engine) -> object:
    with engine.connect() as conn:
        return conn.execute(
            sa.text("SELECT published_at FROM outbox WHERE msg_id = :m"), {"m": MSG_ID}
        ).scalar_one()


def finalize_invoice(engine: Engine) -> None:
    """The producing use case: the state change and its event commit together."""
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO counters (name, value) VALUES ('invoices', 0)"))
        outbox.enqueue(conn, "invoices.finalized", b"inv_1", MSG_ID)


@pytest.fixture
def ledger(engine: Engine) -> Ledger:
    return Ledger(engine)


async def start_consumer(nc: NATS, ledger: Ledger) -> PullConsumer:
    consumer = PullConsumer(
        nc.jetstream(), ConsumerSpec(stream="INVOICES", durable=CONSUMER), ledger.handle, fetch_timeout_s=0.2
    )
    await consumer.start()
    return consumer


async def test_an_event_in_flight_when_the_relay_dies_is_delivered_after_restart_and_applied_once(
    engine: Engine, database_url: str, nats_server: NatsServer, nc: NATS, ledger: Ledger
) -> None:
    js = nc.jetstream()
    await jetstream.ensure_stream(js, StreamSpec(name="INVOICES", subjects=("invoices.>",)))
    consumer = await start_consumer(nc, ledger)
    relay = RelayProcess(database_url, nats_server.url)
    try:
        relay.wait_for("outbox relay running")
        nats_server.pause()  # the broker will take the publish but never acknowledge it
        finalize_invoice(engine)
        relay.wait_for("publishing 1 outbox rows")
        await asyncio.sleep(0.3)  # the request is on the wire, its ack can never come
        relay.kill()
        assert published_at(engine) is None  # never marked without an ack

        nats_server.resume()
        relay = RelayProcess(database_url, nats_server.url)
        relay.wait_for("outbox relay running")
        await eventually(lambda: published_at(engine) is not None)
        await eventually(lambda: ledger.applied() == 1)
        await asyncio.sleep(1.0)  # room for a second apply, which must not happen
    finally:
        relay.kill()
        await consumer.stop()

    assert ledger.applied() == 1
    # Whether or not the broker read the first attempt before the kill, Nats-Msg-Id kept one copy.
    assert (await js.stream_info("INVOICES")).state.messages == 1


@pytest.mark.parametrize("duplicate_window_s", [120.0, 1.0], ids=["broker-dedup", "window-passed"])
async def test_an_event_stored_but_never_marked_published_is_applied_once(
    engine: Engine,
    database_url: str,
    nats_server: NatsServer,
    nc: NATS,
    ledger: Ledger,
    duplicate_window_s: float,
) -> None:
    js = nc.jetstream()
    spec = StreamSpec(name="INVOICES", subjects=("invoices.>",), duplicate_window_s=duplicate_window_s)
    await jetstream.ensure_stream(js, spec)
    consumer = await start_consumer(nc, ledger)
    finalize_invoice(engine)
    # What a relay does before dying between the broker's ack and marking the row: publish it, exactly so.
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT subject, payload, headers FROM outbox")).one()
    await jetstream.publish(js, row.subject, row.payload, MSG_ID, headers=json.loads(row.headers))
    await eventually(lambda: ledger.applied() == 1)
    window_passed = duplicate_window_s < 5
    if window_passed:
        await asyncio.sleep(duplicate_window_s + 1.5)  # the broker forgets the msg_id; only the inbox remains

    relay = RelayProcess(database_url, nats_server.url)
    try:
        relay.wait_for("outbox relay running")
        await eventually(lambda: published_at(engine) is not None)
        await eventually(lambda: ledger.deliveries == (2 if window_passed else 1))
        await asyncio.sleep(0.5)
    finally:
        relay.kill()
        await consumer.stop()

    assert ledger.applied() == 1
    assert (await js.stream_info("INVOICES")).state.messages == (2 if window_passed else 1)
    assert ledger.deliveries == (2 if window_passed else 1)
