"""Keyset pagination: opaque page tokens carrying the last key a page ended on."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from tally.domain.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000

T = TypeVar("T")


def page_size(requested: int, *, field: str = "page.page_size") -> int:
    """The page size to use: the default for 0, refused when negative, capped at MAX_PAGE_SIZE."""
    if requested < 0:
        raise InvalidArgument.field(field, "must not be negative")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def encode_token(last_key: str | int) -> str:
    return base64.urlsafe_b64encode(f"k:{last_key}".encode()).decode()


def decode_token(token: str, *, field: str = "page.page_token") -> str | None:
    """The last key of the previous page, None for the first page; a forged token is refused."""
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidArgument.field(field, "is not a page token this service issued") from None
    if not raw.startswith("k:"):
        raise InvalidArgument.field(field, "is not a page token this service issued")
    return raw[2:]


def decode_int_token(token: str, *, field: str = "page.page_token") -> int | None:
    key = decode_token(token, field=field)
    if key is None:
        return None
    try:
        return int(key)
    except ValueError:
        raise InvalidArgument.field(field, "is not a page token this service issued") from None


def page_of(found: Sequence[T], limit: int, key: Callable[[T], str | int]) -> tuple[Sequence[T], str]:
    """This page and the next page's token ("" on the last page).

    ``found`` is what the store returned for ``limit + 1`` rows: the extra row is only looked at, never
    returned, and tells whether another page exists, so a caller never fetches an empty last page.
    """
    page = found[:limit]
    return page, encode_token(key(page[-1])) if len(found) > limit else ""


def time_key(at: datetime, key: str) -> str:
    """The key of a row in a list ordered by (a time, an id): both, so rows with one timestamp are not skipped."""
    return f"{at.isoformat()}|{key}"


def decode_time_key(token: str, *, field: str = "page.page_token") -> tuple[datetime, str] | None:
    """(time, id) of the last row of the previous page, None for the first page; a forged token is refused."""
    raw = decode_token(token, field=field)
    if raw is None:
        return None
    at, separator, key = raw.partition("|")
    try:
        if not separator:
            raise ValueError(raw)
        return datetime.fromisoformat(at), key
    except ValueError:
        raise InvalidArgument.field(field, "is not a page token this service issued") from None
