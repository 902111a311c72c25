from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tally.catalog.domain import (
    BillingAnchor,
    BillingCycle,
    CatalogPrice,
    Phase,
    PlanCharge,
    PlanVersionTerms,
    PriceOverride,
    Subscription,
    billing_period,
    migrate,
    resolve_terms,
    validate_subscription,
)
from tally.domain.errors import InvalidArgument
from tally.money import Money
from tally.pricing import Discount, DiscountKind, FlatPrice, UnitPrice, price_plan


def utc(*parts):
    return datetime(*parts, tzinfo=UTC)


def version(version_id="v1", unit_price="0.10"):
    return PlanVersionTerms(
        id=version_id,
        plan_id="growth",
        version=1,
        currency="USD",
        charges=(
            PlanCharge("platform", "Platform fee", CatalogPrice(FlatPrice("USD", Decimal("49.00")))),
            PlanCharge(
                "calls",
                "API calls",
                CatalogPrice(UnitPrice("USD", Decimal(unit_price)), meter_id="api-calls"),
                Decimal(1000),
            ),
        ),
        minimum_commitment=Decimal(100),
    )


def subscription(sub_id="s1", **fields):
    values = dict(
        id=sub_id,
        customer_id="acme",
        plan_version_id="v1",
        start_at=utc(2025, 1, 15),
        billing_cycle=BillingCycle.MONTHLY,
    )
    values.update(fields)
    return Subscription(**values)


VERSIONS = {"v1": version()}


@pytest.mark.parametrize(
    ("cycle", "anchor", "at", "period"),
    [
        (BillingCycle.MONTHLY, BillingAnchor.CALENDAR, utc(2025, 1, 20), (utc(2025, 1, 1), utc(2025, 2, 1))),
        (BillingCycle.QUARTERLY, BillingAnchor.CALENDAR, utc(2025, 5, 2), (utc(2025, 4, 1), utc(2025, 7, 1))),
        (BillingCycle.ANNUAL, BillingAnchor.CALENDAR, utc(2026, 3, 1), (utc(2026, 1, 1), utc(2027, 1, 1))),
        (
            BillingCycle.MONTHLY,
            BillingAnchor.ANNIVERSARY,
            utc(2025, 3, 14),
            (utc(2025, 2, 15), utc(2025, 3, 15)),
        ),
        (
            BillingCycle.MONTHLY,
            BillingAnchor.ANNIVERSARY,
            utc(2025, 3, 15),
            (utc(2025, 3, 15), utc(2025, 4, 15)),
        ),
        (
            BillingCycle.QUARTERLY,
            BillingAnchor.ANNIVERSARY,
            utc(2025, 4, 15),
            (utc(2025, 4, 15), utc(2025, 7, 15)),
        ),
        (BillingCycle.MONTHLY, BillingAnchor.CALENDAR, utc(2024, 12, 1), (utc(2025, 1, 1), utc(2025, 2, 1))),
    ],
)
def test_billing_periods(cycle, anchor, at, period):
    found = billing_period(utc(2025, 1, 15), cycle, anchor, at)
    assert (found.start, found.end) == period


def test_an_anniversary_on_the_31st_comes_back_to_the_31st():
    start = utc(2025, 1, 31)
    feb = billing_period(start, BillingCycle.MONTHLY, BillingAnchor.ANNIVERSARY, utc(2025, 3, 1))
    assert (feb.start, feb.end) == (utc(2025, 2, 28), utc(2025, 3, 31))


def test_effective_terms_price_an_invoice_with_the_override():
    override = PriceOverride("calls", CatalogPrice(UnitPrice("USD", Decimal("0.07"))))
    terms = resolve_terms(subscription(overrides=(override,)), VERSIONS, utc(2025, 2, 3))
    assert terms.usage_charges[0].price.meter_id == "api-calls"  # the meter stays the charge's
    lines = price_plan(terms.to_engine(), {"calls": Decimal(3000)}, {"platform": Decimal(1)})
    # 49 + (3000 − 1000) × 0.07 = 189.00, above the minimum of 100
    assert lines.unrounded_total == Decimal("189.00")


@given(
    price=st.decimals(min_value=0, max_value=1000, places=4),
    included=st.none() | st.decimals(min_value=0, max_value=10**6, places=2),
    when=st.datetimes(min_value=datetime(2025, 1, 15), max_value=datetime(2030, 1, 1)),
)
def test_an_override_changes_only_its_own_subscription(price, included, when):
    when = when.replace(tzinfo=UTC)
    mine, other = subscription("mine"), subscription("other")
    before = resolve_terms(other, VERSIONS, when)
    override = PriceOverride("calls", CatalogPrice(UnitPrice("USD", price)), included)
    overridden = resolve_terms(Subscription(**{**mine.__dict__, "overrides": (override,)}), VERSIONS, when)
    assert resolve_terms(other, VERSIONS, when) == before
    assert before.usage_charges[0].price.model == UnitPrice("USD", Decimal("0.10"))
    assert overridden.usage_charges[0].price.model == UnitPrice("USD", price)
    assert overridden.recurring_fees == before.recurring_fees
    assert VERSIONS["v1"] == version()


def test_migration_keeps_the_old_terms_before_it_takes_effect():
    v2 = version("v2", "0.08")
    versions = {"v1": version(), "v2": v2}
    override = PriceOverride("calls", included_quantity=Decimal(5))
    moved = migrate(subscription(overrides=(override,)), v2, utc(2025, 4, 1), keep_overrides=False)
    assert resolve_terms(moved, versions, utc(2025, 3, 31)).plan_version.id == "v1"
    assert resolve_terms(moved, versions, utc(2025, 3, 31)).usage_charges[0].included_quantity == 5
    later = resolve_terms(moved, versions, utc(2025, 4, 1))
    assert (later.plan_version.id, later.usage_charges[0].included_quantity) == ("v2", 1000)
    again = migrate(moved, version("v1"), utc(2025, 6, 1), keep_overrides=True)
    assert [resolve_terms(again, versions, utc(2025, m, 2)).plan_version.id for m in (2, 5, 7)] == [
        "v1",
        "v2",
        "v1",
    ]


def test_subscription_rules_name_every_field():
    bad = subscription(
        end_at=utc(2025, 1, 1),
        overrides=(
            PriceOverride("calls", CatalogPrice(UnitPrice("EUR", Decimal(1)))),
            PriceOverride("platform", CatalogPrice(UnitPrice("USD", Decimal(1)))),
            PriceOverride("nope"),
        ),
    )
    with pytest.raises(InvalidArgument) as refused:
        validate_subscription(bad, VERSIONS, "JPY")
    assert [v.field for v in refused.value.violations] == [
        "subscription.plan_version_id",
        "subscription.end_at",
        "subscription.price_overrides[0].price.currency",
        "subscription.price_overrides[1].price",
        "subscription.price_overrides[2].charge_id",
    ]


def test_terms_before_the_start_are_refused():
    with pytest.raises(InvalidArgument) as refused:
        resolve_terms(subscription(), VERSIONS, utc(2025, 1, 15) - timedelta(seconds=1))
    assert refused.value.violations[0].field == "at"


def test_negotiated_discounts_add_to_the_plans_and_a_minimum_replaces_it_a_ramp_phase_has_its_own():
    negotiated = subscription(
        discounts=(Discount("deal", DiscountKind.PERCENTAGE, Decimal(10)),),
        minimum_commitment=Money(Decimal(300), "USD"),
        phases=(
            Phase(
                "",
                utc(2025, 1, 15),
                utc(2025, 3, 1),
                discounts=(Discount("ramp", DiscountKind.PERCENTAGE, Decimal(50)),),
            ),
        ),
    )
    validate_subscription(negotiated, VERSIONS, "USD")
    ramp = resolve_terms(negotiated, VERSIONS, utc(2025, 2, 1))
    after = resolve_terms(negotiated, VERSIONS, utc(2025, 3, 1))
    assert ([d.id for d in ramp.discounts], ramp.minimum_commitment) == (["ramp"], Decimal(100))
    assert ([d.id for d in after.discounts], after.minimum_commitment) == (["deal"], Decimal(300))
    # 49 + 2000 × 0.10 = 249.00, less 10 % = 224.10, trued up to the negotiated 300.
    lines = price_plan(after.to_engine(), {"calls": Decimal(3000)}, {"platform": Decimal(1)})
    assert lines.unrounded_total == Decimal(300)


def test_negotiated_discounts_and_minimum_are_checked_against_the_plan_version():
    bad = subscription(
        discounts=(
            Discount("", DiscountKind.PERCENTAGE, Decimal(120)),
            Discount("", DiscountKind.FIXED, Decimal(5), "nope"),
        ),
        minimum_commitment=Money(Decimal(-1), "EUR"),
    )
    with pytest.raises(InvalidArgument) as refused:
        validate_subscription(bad, VERSIONS, "USD")
    assert [v.field for v in refused.value.violations] == [
        "subscription.discounts[0].value",
        "subscription.discounts[1].charge_id",
        "subscription.minimum_commitment.currency",
        "subscription.minimum_commitment.amount",
    ]
