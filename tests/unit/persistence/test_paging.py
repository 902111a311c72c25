"""The one paging helper every List RPC uses: look one row ahead, opaque tokens, forged tokens refused."""

from datetime import UTC, datetime

import pytest

from tally.domain.errors import InvalidArgument
from tally.persistence.paging import (
    MAX_PAGE_SIZE,
    decode_int_token,
    decode_time_key,
    decode_token,
    encode_token,
    page_of,
    page_size,
    time_key,
)


def test_a_page_with_a_row_beyond_it_has_a_next_token_naming_its_last_row():
    page, token = page_of(["a", "b", "c"], 2, key=str)
    assert list(page) == ["a", "b"]
    assert decode_token(token) == "b"


@pytest.mark.parametrize("found", [["a", "b"], ["a"], []])
def test_the_last_page_has_no_token_even_when_it_is_full(found):
    page, token = page_of(found, 2, key=str)
    assert list(page) == found
    assert token == ""


def test_time_keys_round_trip_with_their_id_so_equal_timestamps_are_not_skipped():
    at = datetime(2026, 12, 7, 22, 0, 0, 123456, tzinfo=UTC)
    assert decode_time_key(encode_token(time_key(at, "inv_1|x"))) == (at, "inv_1|x")
    assert decode_time_key("") is None


@pytest.mark.parametrize(
    "token", ["not base64!", encode_token("no separator"), encode_token("yesterday|id"), "a2V5"]
)
def test_a_forged_time_token_is_refused_naming_the_field(token):
    with pytest.raises(InvalidArgument) as refused:
        decode_time_key(token)
    assert [v.field for v in refused.value.violations] == ["page.page_token"]


def test_int_tokens_and_page_sizes():
    assert decode_int_token(encode_token(41)) == 41
    with pytest.raises(InvalidArgument):
        decode_int_token(encode_token("x"))
    assert page_size(0) == 100
    assert page_size(5) == 5
    assert page_size(10**9) == MAX_PAGE_SIZE
    with pytest.raises(InvalidArgument):
        page_size(-1)
