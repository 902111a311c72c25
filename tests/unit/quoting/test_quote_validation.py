from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tally.domain.errors import InvalidArgument
from tally.quoting.domain import QuoteInput, QuoteLineInput, quote_number, validate_quote

NOW = datetime(2026, 5, 1, tzinfo=UTC)
CURRENCY_FIELD = "quote.currency"


def raw(**overrides):
    fields = dict(
        customer_id="cus_1",
        currency="USD",
        lines=[QuoteLineInput(charge_id="ch_api", estimated_quantity="1000.25")],
        valid_until=NOW + timedelta(days=30),
        term_months=12,
    )
    fields.update(overrides)
    return QuoteInput(**fields)


def refused_fields(**overrides):
    with pytest.raises(InvalidArgument) as refused:
        validate_quote(raw(**overrides), now=NOW, currency_field=CURRENCY_FIELD)
    return [v.field for v in refused.value.violations]


def test_numbers_are_six_digits_and_start_at_one():
    assert [quote_number(n) for n in (1, 2, 999_999, 1_000_000)] == [
        "Q-000001",
        "Q-000002",
        "Q-999999",
        "Q-1000000",
    ]
    with pytest.raises(ValueError):
        quote_number(0)


def test_a_valid_quote_keeps_exact_quantities():
    terms = validate_quote(raw(), now=NOW, currency_field=CURRENCY_FIELD)
    assert [(line.charge_id, line.estimated_quantity, line.included_quantity) for line in terms.lines] == [
        ("ch_api", Decimal("1000.25"), None)
    ]


@pytest.mark.parametrize(
    ("overrides", "fields"),
    [
        ({"customer_id": " "}, ["quote.customer_id"]),
        ({"currency": "XYZ"}, [CURRENCY_FIELD]),
        ({"currency": ""}, [CURRENCY_FIELD]),
        ({"valid_until": NOW}, ["quote.valid_until"]),
        ({"term_months": -1}, ["quote.term_months"]),
        ({"lines": [QuoteLineInput(charge_id="")]}, ["quote.lines[0].charge_id"]),
        (
            {"lines": [QuoteLineInput(charge_id="c", estimated_quantity="-2")]},
            ["quote.lines[0].estimated_quantity"],
        ),
        (
            {"lines": [QuoteLineInput(charge_id="c", included_quantity="lots")]},
            ["quote.lines[0].included_quantity"],
        ),
        ({"lines": [QuoteLineInput(charge_id="c", negotiated_price=True)]}, ["quote.lines[0].price"]),
    ],
)
def test_each_bad_field_is_named(overrides, fields):
    assert refused_fields(**overrides) == fields
