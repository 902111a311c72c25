"""API keys: generation, verification, revocation and the keyring file."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from tally.mesh.auth import ChainedVerifier, Keyring, Principal, generate_key, parse_key


def test_generated_key_has_the_documented_shape_and_verifies() -> None:
    plaintext, record = generate_key("metering", {"usage:read"})
    prefix, key_id, secret = plaintext.split("_", 2)

    assert (prefix, key_id) == ("tly", record.key_id)
    assert len(secret) >= 43  # 32 random bytes, urlsafe base64 without padding
    assert parse_key(plaintext) == (record.key_id, secret)
    assert Keyring([record]).verify_now(plaintext) == Principal(
        name="metering", scopes=frozenset({"usage:read"}), key_id=record.key_id
    )


def test_secret_with_underscores_still_parses() -> None:
    assert parse_key("tly_abc123_se_cr_et") == ("abc123", "se_cr_et")


async def test_wrong_secret_unknown_key_malformed_and_revoked_keys_are_rejected() -> None:
    plaintext, record = generate_key("invoicing", {"*"})
    other, _ = generate_key("stranger", {"*"})
    keyring = Keyring([record])

    assert await keyring.verify(plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B")) is None
    assert await keyring.verify(other) is None
    assert await keyring.verify("Bearer nonsense") is None
    assert await keyring.verify(f"tly_{record.key_id}_") is None

    keyring.revoke(record.key_id)
    assert await keyring.verify(plaintext) is None


def test_wildcard_scope_grants_every_scope() -> None:
    admin = Principal(name="admin", scopes=frozenset({"*"}), key_id="k1")
    reader = Principal(name="reader", scopes=frozenset({"usage:read"}), key_id="k2")

    assert admin.has_scope("invoices:write")
    assert reader.has_scope("usage:read")
    assert not reader.has_scope("usage:write")


def test_save_and_load_round_trip_never_stores_the_plaintext(tmp_path: Path) -> None:
    keys = [generate_key("quoting", {"quotes:write", "catalog:read"}), generate_key("cli", {"*"})]
    keyring = Keyring(record for _, record in keys)
    keyring.revoke(keys[1][1].key_id)
    path = tmp_path / "keys" / "keyring.json"

    keyring.save(path)
    text = path.read_text()
    loaded = Keyring.load(path)

    for plaintext, record in keys:
        assert plaintext not in text
        assert plaintext.split("_", 2)[2] not in text
        assert loaded.get(record.key_id) == keyring.get(record.key_id)
    assert loaded.verify_now(keys[0][0]) is not None
    assert loaded.verify_now(keys[1][0]) is None  # revocation survives the round trip
    assert json.loads(text)["keys"][0]["scopes"] == sorted(json.loads(text)["keys"][0]["scopes"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["keyring.json"]  # no temporary file left behind


async def test_chained_verifier_asks_each_verifier_until_one_knows_the_key() -> None:
    service_key, service_record = generate_key("catalog", {"*"})
    producer_key, producer_record = generate_key("producer-42", {"usage:write"})
    chain = ChainedVerifier([Keyring([service_record]), Keyring([producer_record])])

    assert (await chain.verify(service_key)) is not None
    producer = await chain.verify(producer_key)
    assert producer is not None and producer.name == "producer-42"
    assert await chain.verify(generate_key("nobody", {"*"})[0]) is None
