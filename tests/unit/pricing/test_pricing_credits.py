"""Prepaid credit burn order: priority, soonest expiry, lowest cost basis; expired grants skipped."""

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from tally.domain.errors import InvalidArgument
from tally.pricing import CreditGrant, burn

NOW = datetime(2025, 3, 1, tzinfo=UTC)


def test_expired_grants_are_skipped_including_at_the_exact_instant():
    grants = [
        CreditGrant("old", D(50), datetime(2025, 2, 1, tzinfo=UTC), D(0)),
        CreditGrant("now", D(50), NOW, D(0)),
        CreditGrant("open", D(50), None, D(1)),
    ]
    applied, entries, left = burn(grants, D(80), NOW)
    assert applied == D(50)
    assert [e.grant_id for e in entries] == ["open"]
    assert left == ()


def test_same_expiry_burns_lowest_cost_basis_first():
    expiry = datetime(2025, 6, 1, tzinfo=UTC)
    grants = [CreditGrant("paid", D(10), expiry, D(1)), CreditGrant("promo", D(10), expiry, D(0))]
    assert [(e.grant_id, e.amount) for e in burn(grants, D(15), NOW).entries] == [
        ("promo", D(10)),
        ("paid", D(5)),
    ]


def test_priority_comes_before_expiry():
    grants = [
        CreditGrant("soon", D(10), datetime(2025, 4, 1, tzinfo=UTC), D(0)),
        CreditGrant("first", D(10), None, D(1), priority=-1),
    ]
    assert [e.grant_id for e in burn(grants, D(5), NOW).entries] == ["first"]


def test_negative_amounts_are_refused():
    with pytest.raises(InvalidArgument) as caught:
        burn([CreditGrant("a", D(-1), None, D(0))], D(-5), NOW)
    assert [v.field for v in caught.value.violations] == ["amount", "grants[0].remaining"]
