from datetime import UTC, datetime, timedelta

from tally.ingestion.domain import KeyCredential, KeyRow
from tally.ingestion.producer_keys import ProducerKeyVerifier
from tally.mesh.auth import generate_key

NOW = datetime(2026, 3, 1, tzinfo=UTC)


class FakeStore:
    def __init__(self) -> None:
        self.rows: dict[str, KeyCredential] = {}
        self.reads = 0

    def credential(self, key_id: str) -> KeyCredential | None:
        self.reads += 1
        return self.rows.get(key_id)

    def issue(self, producer_id: str, *, expires_at: datetime | None = None) -> str:
        plaintext, record = generate_key(f"producer:{producer_id}", ["usage:write"])
        self.rows[record.key_id] = KeyCredential(
            KeyRow(
                record.key_id, producer_id, "", record.secret_sha256, record.scopes, NOW, expires_at, None
            ),
            producer_disabled=False,
        )
        return plaintext

    def revoke(self, plaintext: str) -> None:
        key_id = plaintext.split("_")[1]
        row = self.rows[key_id]
        self.rows[key_id] = KeyCredential(
            KeyRow(**{**row.key.__dict__, "revoked_at": NOW}), row.producer_disabled
        )


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def verifier(store: FakeStore, clock: Clock) -> ProducerKeyVerifier:
    return ProducerKeyVerifier(store, cache_s=2.0, clock=clock, wall_clock=lambda: NOW)  # type: ignore[arg-type]


async def test_a_producer_key_authenticates_as_its_producer_and_is_read_once_per_cache_period():
    store, clock = FakeStore(), Clock()
    check = verifier(store, clock)
    key = store.issue("p-1")
    for _ in range(50):
        principal = await check.verify(key)
        assert principal is not None
        assert (principal.name, principal.scopes) == ("producer:p-1", frozenset({"usage:write"}))
    assert store.reads == 1


async def test_a_wrong_secret_or_unknown_key_is_refused():
    store, clock = FakeStore(), Clock()
    check = verifier(store, clock)
    key = store.issue("p-1")
    assert await check.verify(key) is not None
    assert await check.verify(key[:-2] + "xx") is None
    assert await check.verify("tly_0000000000000000_secret") is None
    assert await check.verify("not-a-key") is None


async def test_revocation_elsewhere_takes_effect_when_the_cache_expires_and_here_at_once():
    store, clock = FakeStore(), Clock()
    check = verifier(store, clock)
    key = store.issue("p-1")
    assert await check.verify(key) is not None
    store.revoke(key)
    clock.now += 2.0
    assert await check.verify(key) is None

    other = store.issue("p-2")
    assert await check.verify(other) is not None
    store.revoke(other)
    check.forget(other.split("_")[1])
    assert await check.verify(other) is None


async def test_an_expired_key_is_refused():
    store, clock = FakeStore(), Clock()
    check = verifier(store, clock)
    assert await check.verify(store.issue("p-1", expires_at=NOW - timedelta(seconds=1))) is None
    assert await check.verify(store.issue("p-1", expires_at=NOW + timedelta(days=1))) is not None
