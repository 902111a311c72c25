"""Plan composition: recurring fees, included usage, discounts, minimum commitment, maximum, rounding, tax."""

from decimal import Decimal as D

import pytest

from tally.domain.errors import InvalidArgument
from tally.pricing import (
    Charge,
    Discount,
    DiscountKind,
    FlatPrice,
    GraduatedPrice,
    LineKind,
    PercentagePrice,
    PlanVersion,
    Tier,
    UnitPrice,
    invoice_totals,
    price_plan,
    round_lines,
)

PLATFORM = Charge("platform", "Platform fee", FlatPrice("USD", D("300.00")))
API = Charge("api", "API calls", UnitPrice("USD", D("0.10")), included_quantity=D(1000))


def summary(charges):
    return [(line.kind, line.charge_id, line.amount) for line in charges.lines]


def test_hybrid_plan_flat_fee_plus_usage_above_included():
    plan = PlanVersion("USD", (PLATFORM, API))
    charges = price_plan(plan, {"api": D(1500)}, {"platform": D(1)})
    assert summary(charges) == [
        (LineKind.RECURRING, "platform", D("300.00")),
        (LineKind.USAGE, "api", D("50.00")),
    ]
    usage = charges.lines[1]
    assert usage.quantity == D(1500)
    assert usage.breakdown[0].description == "Included usage" and usage.breakdown[0].units == D(1000)


def test_included_usage_floors_at_zero():
    charges = price_plan(PlanVersion("USD", (API,)), {"api": D(400)}, {})
    assert summary(charges) == [(LineKind.USAGE, "api", D(0))]


def test_included_usage_is_taken_off_groups_in_rating_order():
    charges = price_plan(PlanVersion("USD", (API,)), {"api": {"eu": D(700), "us": D(800)}}, {})
    assert charges.lines[0].amount == D("50.00")


def test_overage_plan_commitment_trues_up_low_spend():
    plan = PlanVersion("USD", (API,), minimum_commitment=D("100.00"))
    assert summary(price_plan(plan, {"api": D(1200)}, {})) == [
        (LineKind.USAGE, "api", D("20.00")),
        (LineKind.MINIMUM_TRUE_UP, None, D("80.00")),
    ]
    assert summary(price_plan(plan, {"api": D(3000)}, {})) == [(LineKind.USAGE, "api", D("200.00"))]


def test_maximum_caps_spend_with_a_negative_line():
    plan = PlanVersion("USD", (PLATFORM, API), maximum=D("400.00"))
    charges = price_plan(plan, {"api": D(3000)}, {"platform": D(1)})
    assert summary(charges)[-1] == (LineKind.MAXIMUM, None, D("-100.00"))
    assert charges.unrounded_total == D("400.00")


def test_charge_discounts_then_invoice_discounts_in_order():
    plan = PlanVersion(
        "USD",
        (PLATFORM, API),
        discounts=(
            Discount("half-api", DiscountKind.PERCENTAGE, D(50), "api"),
            Discount("ten", DiscountKind.PERCENTAGE, D(10)),
            Discount("five", DiscountKind.FIXED, D("5.00")),
        ),
    )
    charges = price_plan(plan, {"api": D(2000)}, {"platform": D(1)})
    assert summary(charges) == [
        (LineKind.RECURRING, "platform", D("300.00")),
        (LineKind.USAGE, "api", D("100.00")),
        (LineKind.DISCOUNT, "api", D("-50.00")),
        (LineKind.DISCOUNT, None, D("-35.00")),
        (LineKind.DISCOUNT, None, D("-5.00")),
    ]


def test_fixed_discount_never_makes_a_charge_negative():
    plan = PlanVersion("USD", (API,), discounts=(Discount("big", DiscountKind.FIXED, D("80.00"), "api"),))
    charges = price_plan(plan, {"api": D(1300)}, {})
    assert summary(charges) == [(LineKind.USAGE, "api", D("30.00")), (LineKind.DISCOUNT, "api", D("-30.00"))]


def test_discounts_apply_before_the_minimum_true_up():
    plan = PlanVersion(
        "USD",
        (API,),
        minimum_commitment=D("100.00"),
        discounts=(Discount("ten", DiscountKind.PERCENTAGE, D(10)),),
    )
    charges = price_plan(plan, {"api": D(2000)}, {})
    assert summary(charges)[-1] == (LineKind.MINIMUM_TRUE_UP, None, D("10.00"))


def test_prorated_recurring_fee_and_unbilled_recurring_fee():
    plan = PlanVersion("USD", (PLATFORM,))
    assert summary(price_plan(plan, {}, {"platform": D("0.5")})) == [
        (LineKind.RECURRING, "platform", D("150.00"))
    ]
    assert price_plan(plan, {}, {}).lines == ()


def test_missing_usage_prices_zero_but_still_charges_the_first_tier_fee():
    price = GraduatedPrice("USD", (Tier(D(10), D(1), D("5.00")), Tier(None, D(1))))
    charges = price_plan(PlanVersion("USD", (Charge("seats", "Seats", price),)), {}, {})
    assert summary(charges) == [(LineKind.USAGE, "seats", D("5.00"))]


def test_round_lines_and_tax_per_line():
    plan = PlanVersion(
        "USD",
        (Charge("a", "A", UnitPrice("USD", D("0.001"))), Charge("b", "B", UnitPrice("USD", D("0.001")))),
    )
    charges = price_plan(plan, {"a": D(5), "b": D(5)}, {})
    # Each 0.005 line rounds half-up to 0.01: the subtotal is 0.02, not round(0.010) = 0.01.
    assert [line.amount for line in round_lines(charges.lines, "USD")] == [D("0.01"), D("0.01")]
    totals = invoice_totals(charges.lines, "USD", D(50))
    assert (totals.subtotal, totals.taxes, totals.tax, totals.total) == (
        D("0.02"),
        (D("0.01"), D("0.01")),
        D("0.02"),
        D("0.04"),
    )


def test_plan_validation_names_every_bad_field():
    plan = PlanVersion(
        "USD",
        (
            Charge("api", "API", UnitPrice("EUR", D(-1))),
            Charge("api", "Fees", PercentagePrice("USD", D(1)), included_quantity=D(10)),
        ),
        minimum_commitment=D(10),
        maximum=D(5),
        discounts=(Discount("d", DiscountKind.PERCENTAGE, D(150), "nope"),),
    )
    with pytest.raises(InvalidArgument) as caught:
        price_plan(plan, {}, {})
    assert [v.field for v in caught.value.violations] == [
        "plan_version.charges[0].price.unit.unit_price",
        "plan_version.charges[0].price.currency",
        "plan_version.charges[1].id",
        "plan_version.charges[1].included_quantity",
        "plan_version.discounts[0].value",
        "plan_version.discounts[0].charge_id",
        "plan_version.minimum_commitment",
    ]


def test_usage_for_unknown_or_recurring_charges_is_refused():
    with pytest.raises(InvalidArgument) as caught:
        price_plan(PlanVersion("USD", (PLATFORM,)), {"platform": D(1)}, {"ghost": D(1)})
    assert [v.field for v in caught.value.violations] == ["usage['platform']", "recurring['ghost']"]
