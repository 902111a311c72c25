"""The one cache of database-held API keys (gateway's customer keys; ingestion's producer keys, with an outage
grace tested in tests/unit/ingestion): read once per cache period, the secret checked each time, forgotten
at once on revocation, and without a grace the database's errors reach the caller as they are."""

from __future__ import annotations

import psycopg
import pytest
import sqlalchemy.exc

from tally.domain.errors import Unavailable
from tally.mesh.auth import generate_key
from tally.persistence.key_cache import KeyCache, StoredKey


class Keys:
    def __init__(self) -> None:
        self.rows: dict[str, StoredKey[str]] = {}
        self.reads = 0
        self.down = False

    def read(self, key_id: str) -> StoredKey[str] | None:
        self.reads += 1
        if self.down:
            raise sqlalchemy.exc.OperationalError(
                "SELECT", {}, psycopg.OperationalError("connection to server failed: Connection refused")
            )
        return self.rows.get(key_id)

    def issue(self, holder: str) -> str:
        plaintext, record = generate_key(holder, [])
        self.rows[record.key_id] = StoredKey(record.secret_sha256, holder)
        return plaintext


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_key_is_read_once_per_cache_period_and_its_secret_checked_every_time():
    keys, clock = Keys(), Clock()
    cache = KeyCache(keys.read, cache_s=2.0, clock=clock)
    key = keys.issue("customer:c-1")
    for _ in range(5):
        assert await cache.holder(key) == "customer:c-1"
        assert await cache.holder(key[:-2] + "xx") is None
    assert keys.reads == 1
    clock.now += 2.0
    assert await cache.holder(key) == "customer:c-1"
    assert keys.reads == 2
    assert await cache.holder("not-a-key") is None
    assert keys.reads == 2


async def test_a_key_gone_from_the_database_stops_when_the_cache_expires_and_at_once_when_forgotten():
    keys, clock = Keys(), Clock()
    cache = KeyCache(keys.read, cache_s=2.0, clock=clock)
    first, second = keys.issue("customer:c-1"), keys.issue("customer:c-2")
    assert await cache.holder(first) == "customer:c-1"
    assert await cache.holder(second) == "customer:c-2"
    keys.rows.clear()
    assert await cache.holder(first) == "customer:c-1"
    cache.forget(second.split("_")[1])
    assert await cache.holder(second) is None
    clock.now += 2.0
    assert await cache.holder(first) is None


async def test_without_a_grace_an_outage_reaches_the_caller_as_the_database_raised_it():
    keys, clock = Keys(), Clock()
    cache = KeyCache(keys.read, cache_s=2.0, clock=clock)
    key = keys.issue("customer:c-1")
    assert await cache.holder(key) == "customer:c-1"
    keys.down = True
    clock.now += 2.0
    with pytest.raises(sqlalchemy.exc.OperationalError):
        await cache.holder(key)


async def test_with_a_grace_a_recently_verified_key_outlives_an_outage_for_that_long_only():
    keys, clock = Keys(), Clock()
    cache = KeyCache(keys.read, cache_s=2.0, outage_grace_s=10.0, clock=clock)
    key, unseen = keys.issue("producer:p-1"), keys.issue("producer:p-2")
    assert await cache.holder(key) == "producer:p-1"
    keys.down = True
    clock.now += 9.0
    assert await cache.holder(key) == "producer:p-1"
    with pytest.raises(Unavailable):
        await cache.holder(unseen)
    clock.now += 1.0
    with pytest.raises(Unavailable):
        await cache.holder(key)
