import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tally.catalog.domain import BillingCycle, CatalogPrice, Phase, PriceOverride, Subscription
from tally.catalog.stored_terms import (
    dump_price,
    dump_subscription_terms,
    load_price,
    load_subscription_terms,
)
from tally.money import Money
from tally.pricing import Discount, DiscountKind, GraduatedPrice, Tier, UnitPrice
from tally.pricing_wire.documents import StoredDocumentError

D = Decimal
TIERS = (Tier(D(5), D("10.00")), Tier(None, D("6.00")))


def test_every_model_reads_back_as_written(every_price):
    assert load_price(dump_price(every_price), "prices[p].terms") == every_price


def doc_of(price):
    return json.loads(dump_price(price))


def test_a_renamed_key_is_refused_naming_the_row_the_path_and_both_keys():
    doc = doc_of(UnitPrice("USD", D("0.0004")))
    doc["price"]["price_per_unit"] = doc["price"].pop("unit_price")
    with pytest.raises(StoredDocumentError) as refused:
        load_price(json.dumps(doc), "prices[p1].terms")
    assert str(refused.value) == "prices[p1].terms.price: missing unit_price; unknown price_per_unit"


def test_a_missing_optional_value_is_refused_too_absent_values_are_written_as_null():
    doc = doc_of(GraduatedPrice("USD", TIERS))
    assert doc["price"]["tiers"][1]["up_to"] is None
    del doc["price"]["tiers"][1]["up_to"]
    with pytest.raises(StoredDocumentError, match=r"^prices\[p\]\.terms\.price\.tiers\[1\]: missing up_to$"):
        load_price(json.dumps(doc), "prices[p].terms")


def test_another_schema_is_refused_with_what_to_do():
    doc = doc_of(UnitPrice("USD", D(1)))
    doc["schema"] = 2
    with pytest.raises(StoredDocumentError, match="schema 2, this code reads schema 1: run the migrations"):
        load_price(json.dumps(doc), "prices[p].terms")


def test_a_stored_price_breaking_a_pricing_rule_is_refused():
    doc = doc_of(GraduatedPrice("USD", TIERS))
    doc["price"]["tiers"][0]["up_to"] = "-4"
    with pytest.raises(StoredDocumentError, match=r"tiers\[0\]\.up_to"):
        load_price(json.dumps(doc), "prices[p].terms")


def test_subscription_terms_read_back_with_overrides_phases_discounts_and_minimum():
    overrides = (PriceOverride("calls", CatalogPrice(UnitPrice("USD", D("0.07")), meter_id="m"), D(100)),)
    ramp = Phase(
        "",
        datetime(2026, 1, 1, tzinfo=UTC),
        datetime(2026, 4, 1, tzinfo=UTC),
        (PriceOverride("calls", included_quantity=D(0)),),
        (Discount("ramp", DiscountKind.PERCENTAGE, D(50), None, "Launch"),),
        Money(D("250.00"), "USD"),
    )
    subscription = Subscription(
        id="s",
        customer_id="c",
        plan_version_id="v",
        start_at=datetime(2026, 1, 1, tzinfo=UTC),
        billing_cycle=BillingCycle.MONTHLY,
        overrides=overrides,
        phases=(ramp,),
        discounts=(Discount("", DiscountKind.FIXED, D("10.00"), "calls"),),
        minimum_commitment=Money(D("500.00"), "USD"),
    )
    terms = load_subscription_terms(dump_subscription_terms(subscription), "subscriptions[s].terms")
    assert (terms.overrides, terms.phases, terms.discounts, terms.minimum_commitment) == (
        subscription.overrides,
        subscription.phases,
        subscription.discounts,
        subscription.minimum_commitment,
    )
