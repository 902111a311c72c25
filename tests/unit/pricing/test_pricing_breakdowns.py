"""Breakdowns: units, unit price, flat fee and subtotal per tier, summing exactly to the amount."""

from decimal import Decimal as D

import pytest

from tally.domain.errors import InvalidArgument
from tally.pricing import (
    EventValues,
    GraduatedPrice,
    MatrixCell,
    MatrixPrice,
    MatrixUsage,
    MatrixUsageEntry,
    PackagePrice,
    PercentagePrice,
    Tier,
    TieredPackagePrice,
    UnitPrice,
    VolumePrice,
    compile_price,
    rate,
    rate_grouped,
)

TIERS = (Tier(D(5), D("10.00"), D("20.00")), Tier(D(10), D("8.00"), D("1.00")), Tier(None, D("6.00")))


def steps(rating):
    assert sum(line.subtotal for line in rating.breakdown) == rating.amount
    return [(b.tier_index, b.units, b.unit_price, b.flat_fee, b.subtotal) for b in rating.breakdown]


def test_graduated_breakdown_one_line_per_reached_tier():
    rating = rate(GraduatedPrice("USD", TIERS), D(12))
    assert steps(rating) == [
        (1, D(5), D("10.00"), D("20.00"), D("70.00")),
        (2, D(5), D("8.00"), D("1.00"), D("41.00")),
        (3, D(2), D("6.00"), D(0), D("12.00")),
    ]
    assert rating.breakdown[1].description == "Tier 2: over 5 – 10 units"


def test_graduated_zero_quantity_still_pays_the_first_tier_flat_fee():
    assert steps(rate(GraduatedPrice("USD", TIERS), D(0))) == [(1, D(0), D("10.00"), D("20.00"), D("20.00"))]


def test_graduated_tier_k_flat_fee_only_once_q_passes_the_previous_bound():
    price = GraduatedPrice("USD", TIERS)
    assert rate(price, D(5)).amount == D("70.00")
    assert rate(price, D("5.5")).amount == D("75.00")


def test_volume_breakdown_is_the_containing_tier_only():
    assert steps(rate(VolumePrice("USD", TIERS), D(7))) == [(2, D(7), D("8.00"), D("1.00"), D("57.00"))]


def test_volume_fractional_quantity_above_a_bound_is_in_the_next_tier():
    price = VolumePrice("USD", (Tier(D(100), D("1.00")), Tier(None, D("0.50"))))
    assert steps(rate(price, D("100.5"))) == [(2, D("100.5"), D("0.50"), D(0), D("50.250"))]
    assert rate(price, D(100)).amount == D("100.00")


def test_package_breakdown_counts_packages_after_free_units():
    price = PackagePrice("USD", D(10), D("0.80"), free_units=D(5))
    assert steps(rate(price, D(26))) == [(0, D(3), D("0.80"), D(0), D("2.40"))]
    assert rate(price, D(5)).amount == 0


def test_tiered_package_breakdown_counts_packages_per_tier():
    price = TieredPackagePrice("USD", D(10), (Tier(D(10), D("5.00")), Tier(None, D("4.00"))))
    assert steps(rate(price, D(145))) == [
        (1, D(10), D("5.00"), D(0), D("50.00")),
        (2, D(5), D("4.00"), D(0), D("20.00")),
    ]


def test_percentage_breakdown_groups_events_by_how_they_were_charged():
    price = PercentagePrice("USD", D(2), D("0.30"), D("0.50"), D("1.00"), free_events=2, free_amount=D(100))
    rating = rate(price, EventValues((D(40), D(70), D(50), D(0))))
    # Event 1 free; event 2 pays exactly 0.50 at the rate; event 4 (0.30) is raised to the minimum;
    # event 3 (1.30) is cut to the maximum.
    assert steps(rating) == [
        (0, D(1), D(0), D(0), D(0)),
        (0, D(10), D("0.02"), D("0.30"), D("0.50")),
        (0, D(1), D("0.50"), D(0), D("0.50")),
        (0, D(1), D("1.00"), D(0), D("1.00")),
    ]


def test_percentage_value_zero_event_pays_the_fee_and_no_events_no_fee():
    price = PercentagePrice("USD", D(2), D("0.30"))
    assert rate(price, EventValues((D(0),))).amount == D("0.30")
    assert rate(price, EventValues(())).amount == 0


def test_percentage_free_events_only_makes_whole_events_free():
    price = PercentagePrice("USD", D(10), D("0.30"), free_events=1)
    assert rate(price, EventValues((D(1000), D(10)))).amount == D("1.30")


def test_matrix_breakdown_names_cells_and_default():
    price = MatrixPrice("USD", ("cluster",), (MatrixCell(("alpha",), D("2.00")),), D("3.00"))
    rating = rate(price, MatrixUsage((MatrixUsageEntry(("alpha",), D(1)), MatrixUsageEntry(("beta",), D(2)))))
    assert [line.description for line in rating.breakdown] == [
        "cluster=alpha",
        "cluster=beta (default price)",
    ]
    assert rating.amount == D("8.00")


def test_matrix_usage_with_the_wrong_number_of_values_is_refused():
    price = MatrixPrice("USD", ("cluster", "region"), (), D("3.00"))
    with pytest.raises(InvalidArgument) as caught:
        rate(price, MatrixUsage((MatrixUsageEntry(("alpha",), D(1)),)))
    assert caught.value.violations[0].field == "usage.matrix_usage.entries[0].dimension_values"


def test_grouped_meter_is_priced_per_group_and_summed():
    price = GraduatedPrice("USD", (Tier(D(10), D("1.00")), Tier(None, D("0.50"))))
    rating = rate_grouped(price, {"eu": D(12), "us": D(4), None: D(1)})
    # Per group: 11.00 + 4.00 + 1.00; priced together 17 units would be 13.50.
    assert rating.amount == D("16.00")
    assert sum(line.subtotal for line in rating.breakdown) == rating.amount
    assert rating.breakdown[0].description.startswith("(no group): Tier 1")


def test_amount_only_path_matches_the_full_rating():
    rater = compile_price(GraduatedPrice("USD", TIERS))
    for q in (D(0), D(5), D("5.01"), D(10), D(999)):
        assert rater.amount(q) == rater.rate(q).amount


def test_a_quantity_price_refuses_event_values_and_floats():
    with pytest.raises(InvalidArgument):
        rate(UnitPrice("USD", D(1)), EventValues((D(1),)))
    with pytest.raises(InvalidArgument):
        rate(UnitPrice("USD", D(1)), 1.5)  # type: ignore[arg-type]
