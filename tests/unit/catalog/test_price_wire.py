from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tally.api.catalog.v1 import catalog_service_pb2 as pb
from tally.catalog.price_wire import price_from_json, price_from_wire, price_to_wire, rate_on_wire
from tally.domain.errors import InvalidArgument
from tally.pricing import GraduatedPrice, PackagePrice, PercentagePrice, Tier, UnitPrice

D = Decimal
TIERS = (Tier(D(5), D("10.00"), D("20.00")), Tier(D(10), D("8.00")), Tier(None, D("6.00")))


def test_every_model_survives_the_wire(every_price):
    assert price_from_wire(price_to_wire(every_price)) == every_price


def test_every_unreadable_field_and_every_broken_rule_is_named_at_once():
    message = pb.Price(
        currency="USD",
        graduated=pb.GraduatedPrice(
            tiers=[
                pb.Tier(up_to="10", unit_price="x"),
                pb.Tier(up_to="5", unit_price="1"),
                pb.Tier(unit_price="-1"),
            ]
        ),
    )
    with pytest.raises(InvalidArgument) as refused:
        price_from_wire(message)
    assert [v.field for v in refused.value.violations] == [
        "price.graduated.tiers[0].unit_price",
        "price.graduated.tiers[1].up_to",
        "price.graduated.tiers[2].unit_price",
    ]


def test_a_price_without_a_model_is_refused():
    with pytest.raises(InvalidArgument) as refused:
        price_from_wire(pb.Price(currency="USD"))
    assert [v.field for v in refused.value.violations] == ["price.model"]


def test_json_form_reads_like_the_cli_does():
    price = price_from_json('{"currency": "USD", "package": {"packageSize": "10", "packagePrice": "0.80"}}')
    assert price == PackagePrice("USD", D(10), D("0.80"))
    with pytest.raises(InvalidArgument) as refused:
        price_from_json("{not json")
    assert refused.value.violations[0].field == "price"


@given(st.decimals(min_value=0, max_value=10**6, places=3))
def test_rate_on_wire_matches_the_engine_for_any_quantity(quantity):
    reply = rate_on_wire(
        pb.RateRequest(price=price_to_wire(GraduatedPrice("USD", TIERS)), quantity=str(quantity))
    )
    assert sum(D(line.subtotal) for line in reply.breakdown) == D(reply.amount.amount)


def test_usage_must_fit_the_model():
    with pytest.raises(InvalidArgument) as refused:
        rate_on_wire(pb.RateRequest(price=price_to_wire(UnitPrice("USD", D(1)))))
    assert refused.value.violations[0].field == "usage"
    with pytest.raises(InvalidArgument) as bad_value:
        rate_on_wire(
            pb.RateRequest(
                price=price_to_wire(PercentagePrice("USD", D(2))),
                event_values=pb.EventValues(values=["1", "two"]),
            )
        )
    assert bad_value.value.violations[0].field == "usage.event_values.values[1]"
