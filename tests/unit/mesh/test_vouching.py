"""Ingestion's voucher on usage messages: only the exact message, signed with a shared key, passes."""

from __future__ import annotations

import pytest

from tally.mesh.vouching import UsageVoucher, parse_signing_keys

KEY = b"a" * 32
SUBJECT, MSG_ID, PAYLOAD = "tally.usage.batches.7", "p1/b1/7/0", b"\x0a\x02b1 batch bytes"


def test_a_signed_message_is_vouched_for_and_any_change_to_it_is_not() -> None:
    voucher = UsageVoucher([KEY])
    signature = voucher.sign(SUBJECT, MSG_ID, PAYLOAD)
    assert signature.startswith("v1=")
    assert voucher.vouches_for(SUBJECT, MSG_ID, PAYLOAD, signature)
    assert not voucher.vouches_for(SUBJECT, MSG_ID, PAYLOAD + b"\x00", signature)
    assert not voucher.vouches_for(SUBJECT, "p1/b2/7/0", PAYLOAD, signature)
    assert not voucher.vouches_for("tally.usage.batches.8", MSG_ID, PAYLOAD, signature)
    assert not voucher.vouches_for(SUBJECT, MSG_ID, PAYLOAD, None)
    assert not voucher.vouches_for(SUBJECT, None, PAYLOAD, signature)
    assert not voucher.vouches_for(SUBJECT, MSG_ID, PAYLOAD, signature.replace("v1=", "v2="))
    assert not UsageVoucher([b"b" * 32]).vouches_for(SUBJECT, MSG_ID, PAYLOAD, signature)


def test_rotation_the_first_key_signs_and_every_key_verifies() -> None:
    old, new = b"o" * 32, b"n" * 32
    signed_before = UsageVoucher([old]).sign(SUBJECT, MSG_ID, PAYLOAD)
    metering = UsageVoucher([old, new])
    ingestion = UsageVoucher([new, old])
    assert metering.vouches_for(SUBJECT, MSG_ID, PAYLOAD, signed_before)
    assert metering.vouches_for(SUBJECT, MSG_ID, PAYLOAD, ingestion.sign(SUBJECT, MSG_ID, PAYLOAD))
    assert not UsageVoucher([new]).vouches_for(SUBJECT, MSG_ID, PAYLOAD, signed_before)


def test_keys_are_parsed_from_a_list_and_short_ones_refused() -> None:
    assert parse_signing_keys(f"{'x' * 32}, {'y' * 40}") == (b"x" * 32, b"y" * 40)
    with pytest.raises(ValueError, match="shorter than 32"):
        parse_signing_keys("short")
    with pytest.raises(ValueError, match="no key"):
        parse_signing_keys(" , ")
