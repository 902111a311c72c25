"""Candidate terms for a pricing simulation, and re-rating exactly as an invoice rates (to the cent)."""

from decimal import Decimal

import pytest

from tally.domain.errors import InvalidArgument
from tally.insights.simulation import (
    ChargeChange,
    apply_changes,
    delta_percent,
    distribution,
    rerate,
    scale_price,
    with_candidate_charges,
)
from tally.pricing import (
    BillingTiming,
    Charge,
    Discount,
    DiscountKind,
    FlatPrice,
    GraduatedPrice,
    MatrixCell,
    MatrixPrice,
    PackagePrice,
    PercentagePrice,
    PlanVersion,
    Tier,
    TieredPackagePrice,
    UnitPrice,
    VolumePrice,
)

D = Decimal
TIERS = (Tier(D(5), D("10.00")), Tier(D(10), D("8.00"), D("1.00")), Tier(None, D("6.00")))
PLAN = PlanVersion(
    "USD",
    (
        Charge("base", "Platform fee", FlatPrice("USD", D("49.00"), BillingTiming.IN_ARREARS)),
        Charge("calls", "API calls", GraduatedPrice("USD", TIERS)),
        Charge("storage", "Storage", UnitPrice("USD", D("0.333"))),
    ),
    discounts=(Discount("d1", DiscountKind.PERCENTAGE, D(10), "storage"),),
)


@pytest.mark.parametrize(
    ("price", "scaled"),
    [
        (UnitPrice("USD", D("0.0004")), UnitPrice("USD", D("0.00044"))),
        (
            GraduatedPrice("USD", TIERS),
            GraduatedPrice(
                "USD", tuple(Tier(t.up_to, t.unit_price * D("1.1"), t.flat_fee * D("1.1")) for t in TIERS)
            ),
        ),
        (
            VolumePrice("USD", TIERS),
            VolumePrice(
                "USD", tuple(Tier(t.up_to, t.unit_price * D("1.1"), t.flat_fee * D("1.1")) for t in TIERS)
            ),
        ),
        (PackagePrice("USD", D(60), D("10.00"), D(5)), PackagePrice("USD", D(60), D("11.000"), D(5))),
        (
            PercentagePrice("USD", D(2), D("0.30"), D("0.50"), None, 2, D(100)),
            PercentagePrice("USD", D("2.2"), D("0.330"), D("0.550"), None, 2, D(100)),
        ),
        (
            MatrixPrice("USD", ("region",), (MatrixCell(("eu",), D("2.00")),), D("3.00")),
            MatrixPrice("USD", ("region",), (MatrixCell(("eu",), D("2.200")),), D("3.300")),
        ),
        (
            TieredPackagePrice("USD", D(10), TIERS),
            TieredPackagePrice(
                "USD",
                D(10),
                tuple(Tier(t.up_to, t.unit_price * D("1.1"), t.flat_fee * D("1.1")) for t in TIERS),
            ),
        ),
        (FlatPrice("USD", D("49.00")), FlatPrice("USD", D("53.900"))),
    ],
)
def test_scaling_a_price_scales_every_amount_and_keeps_every_quantity(price, scaled):
    assert scale_price(price, D("1.1")) == scaled


def test_re_rating_rounds_each_line_once_and_a_change_moves_only_its_charge():
    usage = {"calls": D(12), "storage": D("10.5")}
    current = rerate(PLAN, usage, {"base": D(1)})
    # calls 5×10 + 5×8 + 1 (tier fee) + 2×6 = 103.00; storage 3.4965 → 3.50, discount −0.34965 → −0.35.
    assert (current.usage, current.total) == (D("106.50"), D("155.15"))
    assert current.usage_by_charge == {"calls": D("103.00"), "storage": D("3.50")}
    candidate = rerate(
        apply_changes(PLAN, [ChargeChange("calls", scale_percent=D(10))]), usage, {"base": D(1)}
    )
    # 5×11 + 5×8.8 + 1.1 + 2×6.6 = 113.30: exactly 10.30 more; storage and its discount untouched.
    assert candidate.total - current.total == D("10.30")
    assert candidate.usage_by_charge["storage"] == D("3.50")


def test_a_replacement_price_must_be_in_the_plan_currency_and_other_charges_are_left_alone():
    changed = apply_changes(
        PLAN,
        [ChargeChange("storage", price=UnitPrice("USD", D("0.5"))), ChargeChange("nope", scale_percent=D(5))],
    )
    assert changed.charges[2].price == UnitPrice("USD", D("0.5"))
    assert changed.charges[:2] == PLAN.charges[:2]
    with pytest.raises(InvalidArgument) as caught:
        apply_changes(PLAN, [ChargeChange("storage", price=UnitPrice("EUR", D("0.5")))])
    assert caught.value.violations[0].field == "changes['storage'].price.currency"


def test_a_candidate_plan_reprices_the_charges_it_shares_by_id():
    candidate = PlanVersion("USD", (Charge("calls", "API calls", UnitPrice("USD", D("9.00")), D(2)),))
    plan = with_candidate_charges(PLAN, candidate)
    assert plan.charges[1] == Charge("calls", "API calls", UnitPrice("USD", D("9.00")), D(2))
    assert rerate(plan, {"calls": D(12)}, {}).usage == D("90.00")  # (12 − 2 included) × 9.00


def test_delta_percent_and_the_distribution_of_deltas():
    assert delta_percent(D("151.00"), D("161.20")) == D("6.75")
    assert delta_percent(D(0), D(5)) is None
    spread = distribution([D(i) for i in range(1, 11)])
    assert spread is not None
    assert (spread.minimum, spread.p10, spread.median, spread.p90, spread.maximum) == (
        D(1),
        D(1),
        D(5),
        D(9),
        D(10),
    )
    assert distribution([]) is None
