"""Ingestion through an outage of its own database: known keys keep working (bounded), rejections wait."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest
import sqlalchemy.exc

from tally.domain.errors import Unavailable
from tally.ingestion.domain import KeyCredential, KeyRow, Rejection
from tally.ingestion.producer_keys import ProducerKeyVerifier
from tally.ingestion.rejection_buffer import BufferedRejections
from tally.mesh.auth import generate_key
from tally.persistence.transient import UNREACHABLE

NOW = datetime(2026, 3, 1, tzinfo=UTC)


class FakeStore:
    def __init__(self) -> None:
        self.rows: dict[str, KeyCredential] = {}

    def credential(self, key_id: str) -> KeyCredential | None:
        return self.rows.get(key_id)

    def issue(self, producer_id: str) -> str:
        plaintext, record = generate_key(f"producer:{producer_id}", ["usage:write"])
        self.rows[record.key_id] = KeyCredential(
            KeyRow(record.key_id, producer_id, "", record.secret_sha256, record.scopes, NOW, None, None),
            producer_disabled=False,
        )
        return plaintext

    def revoke(self, plaintext: str) -> None:
        key_id = plaintext.split("_")[1]
        row = self.rows[key_id]
        self.rows[key_id] = KeyCredential(KeyRow(**{**row.key.__dict__, "revoked_at": NOW}), False)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def refused() -> sqlalchemy.exc.OperationalError:
    return sqlalchemy.exc.OperationalError(
        "SELECT",
        {},
        psycopg.OperationalError('connection to server at "127.0.0.1" failed: Connection refused'),
    )


class DownStore(FakeStore):
    def __init__(self) -> None:
        super().__init__()
        self.down = False

    def credential(self, key_id: str):  # type: ignore[no-untyped-def]
        if self.down:
            raise refused()
        return super().credential(key_id)


def verifier(store: FakeStore, clock: Clock) -> ProducerKeyVerifier:
    return ProducerKeyVerifier(
        store,  # type: ignore[arg-type]
        cache_s=2.0,
        outage_grace_s=60.0,
        clock=clock,
        wall_clock=lambda: NOW,
    )


async def test_a_known_key_keeps_working_through_an_outage_up_to_the_grace_period() -> None:
    store, clock = DownStore(), Clock()
    check = verifier(store, clock)
    key = store.issue("p-1")
    assert await check.verify(key) is not None
    store.down = True

    clock.now += 59.0
    principal = await check.verify(key)
    assert principal is not None and principal.name == "producer:p-1"
    assert await check.verify(key[:-2] + "xx") is None  # the secret is still checked

    clock.now += 1.0
    with pytest.raises(Unavailable, match=f"cannot verify the API key now: {UNREACHABLE}; retry"):
        await check.verify(key)


async def test_an_unseen_key_during_an_outage_is_unavailable_not_refused() -> None:
    store, clock = DownStore(), Clock()
    check = verifier(store, clock)
    key = store.issue("p-1")
    store.down = True
    with pytest.raises(Unavailable):
        await check.verify(key)
    store.down = False
    assert await check.verify(key) is not None


async def test_a_revocation_seen_after_the_outage_takes_effect_at_the_next_check() -> None:
    store, clock = DownStore(), Clock()
    check = verifier(store, clock)
    key = store.issue("p-1")
    assert await check.verify(key) is not None
    store.down = True
    clock.now += 30.0
    assert await check.verify(key) is not None
    store.revoke(key)
    store.down = False
    assert await check.verify(key) is None


class FlakyLog:
    def __init__(self) -> None:
        self.down = False
        self.rows: dict[tuple[str, int], str] = {}

    def record(self, producer_id, batch_id, received_at, rejected):  # type: ignore[no-untyped-def]
        if self.down:
            raise refused()
        for rejection, _payload in rejected:
            self.rows.setdefault((batch_id, rejection.index), rejection.code)


def rejections(batch: str, count: int) -> list[tuple[Rejection, dict[str, object]]]:
    return [
        (Rejection(i, f"{batch}-{i}", "MISSING_CUSTOMER", "customer", "required"), {}) for i in range(count)
    ]


RECEIVED = datetime(2026, 3, 1, tzinfo=UTC)


def test_rejections_wait_out_an_outage_bounded_and_are_written_once_back() -> None:
    log = FlakyLog()
    buffer = BufferedRejections(log, capacity=5)  # type: ignore[arg-type]
    log.down = True
    buffer.record("p-1", "b-1", RECEIVED, rejections("b-1", 2))
    buffer.record("p-1", "b-1", RECEIVED, rejections("b-1", 2))  # the same batch retried
    buffer.record("p-1", "b-2", RECEIVED, rejections("b-2", 2))  # would pass the capacity of 5
    assert (buffer.held, buffer.dropped) == (4, 2)
    with pytest.raises(sqlalchemy.exc.OperationalError):
        buffer.flush()
    assert buffer.held == 4

    log.down = False
    assert buffer.flush() == 4
    assert (buffer.held, sorted(log.rows)) == (0, [("b-1", 0), ("b-1", 1)])
    buffer.record("p-1", "b-3", RECEIVED, rejections("b-3", 1))  # written at once again
    assert ("b-3", 0) in log.rows and buffer.held == 0


def test_a_content_failure_of_the_log_is_not_buffered() -> None:
    class BrokenLog(FlakyLog):
        def record(self, *args):  # type: ignore[no-untyped-def]
            raise ValueError("payload is not JSON")

    buffer = BufferedRejections(BrokenLog(), capacity=5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        buffer.record("p-1", "b-1", RECEIVED, rejections("b-1", 1))
