"""Every worked example of docs/pricing.md's price models, credits and rounding, one test each."""

from datetime import UTC, datetime
from decimal import Decimal as D

from tally.pricing import (
    Charge,
    CreditGrant,
    EventValues,
    GraduatedPrice,
    LedgerEntry,
    MatrixCell,
    MatrixPrice,
    MatrixUsage,
    MatrixUsageEntry,
    PackagePrice,
    PackageRounding,
    PercentagePrice,
    PlanVersion,
    Tier,
    TieredPackagePrice,
    UnitPrice,
    VolumePrice,
    burn,
    invoice_totals,
    price_plan,
    rate,
)

TIERS = (Tier(D(5), D("10.00")), Tier(D(10), D("8.00")), Tier(None, D("6.00")))
TIERS_WITH_FEE = (Tier(D(5), D("10.00"), D("20.00")), *TIERS[1:])


def amount(price, usage):
    return rate(price, usage).amount


def test_graduated_q12_is_102():
    assert amount(GraduatedPrice("USD", TIERS), D(12)) == D("102.00")


def test_graduated_with_first_tier_flat_fee_q12_is_122():
    assert amount(GraduatedPrice("USD", TIERS_WITH_FEE), D(12)) == D("122.00")


def test_volume_q12_is_72():
    assert amount(VolumePrice("USD", TIERS), D(12)) == D("72.00")


def test_volume_q5_is_50():
    assert amount(VolumePrice("USD", TIERS), D(5)) == D("50.00")


def test_volume_q6_is_48_not_monotonic_at_a_boundary():
    assert amount(VolumePrice("USD", TIERS), D(6)) == D("48.00")


def test_volume_with_first_tier_flat_fee_q3_is_50():
    assert amount(VolumePrice("USD", TIERS_WITH_FEE), D(3)) == D("50.00")


def test_graduated_half_then_tenth_q25_is_6_50():
    price = GraduatedPrice("USD", (Tier(D(10), D("0.50")), Tier(None, D("0.10"))))
    assert amount(price, D(25)) == D("6.50")


def test_volume_half_then_forty_q10_is_5_00():
    price = VolumePrice("USD", (Tier(D(10), D("0.50")), Tier(None, D("0.40"))))
    assert amount(price, D(10)) == D("5.00")


def test_volume_half_then_forty_q101_is_40_40():
    price = VolumePrice("USD", (Tier(D(10), D("0.50")), Tier(None, D("0.40"))))
    assert amount(price, D(101)) == D("40.40")


def test_graduated_thousand_at_ten_cents_q1500_is_145():
    price = GraduatedPrice("USD", (Tier(D(1000), D("0.10")), Tier(None, D("0.09"))))
    assert amount(price, D(1500)) == D("145.00")


THREE_TIERS = (Tier(D(100), D("0.15")), Tier(D(500), D("0.10")), Tier(None, D("0.05")))


def test_graduated_three_tiers_q250_is_30():
    assert amount(GraduatedPrice("USD", THREE_TIERS), D(250)) == D("30.00")


def test_volume_three_tiers_q250_is_25():
    assert amount(VolumePrice("USD", THREE_TIERS), D(250)) == D("25.00")


def test_package_size_10_q25_is_2_40():
    assert amount(PackagePrice("USD", D(10), D("0.80")), D(25)) == D("2.40")


def test_package_size_5_q1_3_5_is_10():
    price = PackagePrice("USD", D(5), D("10.00"))
    assert [amount(price, D(q)) for q in (1, 3, 5)] == [D("10.00")] * 3


def test_package_size_5_q6_7_is_20():
    price = PackagePrice("USD", D(5), D("10.00"))
    assert [amount(price, D(q)) for q in (6, 7)] == [D("20.00")] * 2


def test_package_rounding_down_q7_is_10():
    price = PackagePrice("USD", D(5), D("10.00"), rounding=PackageRounding.DOWN)
    assert amount(price, D(7)) == D("10.00")


def test_package_minutes_per_started_hour_q150_is_30():
    assert amount(PackagePrice("USD", D(60), D("10.00")), D(150)) == D("30.00")


def test_tiered_package_q145_is_15_packages_70():
    price = TieredPackagePrice("USD", D(10), (Tier(D(10), D("5.00")), Tier(None, D("4.00"))))
    rating = rate(price, D(145))
    assert rating.amount == D("70.00")
    assert sum(line.units for line in rating.breakdown) == 15


def test_percentage_with_max_per_transaction_is_12_25():
    price = PercentagePrice("USD", D("1.25"), max_per_transaction=D("11.00"))
    assert amount(price, EventValues((D("100.00"), D("2000.00")))) == D("12.25")


EVENTS = EventValues((D(40), D(70), D(50), D(0)))


def test_percentage_with_free_events_and_amount_is_2_10():
    price = PercentagePrice("USD", D(2), D("0.30"), free_events=2, free_amount=D("100.00"))
    assert amount(price, EVENTS) == D("2.10")


def test_percentage_with_free_allowance_and_min_max_is_2_00():
    price = PercentagePrice(
        "USD", D(2), D("0.30"), D("0.50"), D("1.00"), free_events=2, free_amount=D("100.00")
    )
    assert amount(price, EVENTS) == D("2.00")


def test_percentage_with_free_amount_only_is_0_50():
    price = PercentagePrice("USD", D(2), D("0.30"), free_amount=D("100.00"))
    assert amount(price, EventValues((D(60), D(40), D(10)))) == D("0.50")


def test_latest_of_minus_5_is_priced_as_0():
    assert amount(UnitPrice("USD", D("3.00")), D(-5)) == D("0.00")


def test_matrix_cluster_region_is_35():
    price = MatrixPrice("USD", ("cluster", "region"), (MatrixCell(("alpha", "west"), D("2.00")),), D("3.00"))
    usage = MatrixUsage(
        (MatrixUsageEntry(("alpha", "west"), D(10)), MatrixUsageEntry(("beta", "east"), D(5)))
    )
    assert amount(price, usage) == D("35.00")


def test_prepaid_credits_150_burns_100_from_a_then_50_from_b():
    a = CreditGrant("A", D(100), datetime(2025, 1, 31, tzinfo=UTC), D("0.00"))
    b = CreditGrant("B", D(500), None, D("1.00"))
    applied, entries, left = burn([b, a], D(150), datetime(2025, 1, 15, tzinfo=UTC))
    assert applied == D(150)
    assert entries == (LedgerEntry("A", D(100), D(0)), LedgerEntry("B", D(50), D(450)))
    assert [(g.id, g.remaining) for g in left] == [("B", D(450))]


def _rated_line_total(currency: str) -> D:
    plan = PlanVersion(currency, (Charge("api", "API calls", UnitPrice(currency, D("0.0004"))),))
    lines = price_plan(plan, {"api": D(12345)}, {}).lines
    assert lines[0].amount == D("4.938")
    return invoice_totals(lines, currency).subtotal


def test_rounding_4_938_is_4_94_usd_on_a_rated_line():
    assert _rated_line_total("USD") == D("4.94")


def test_rounding_4_938_is_5_jpy_on_a_rated_line():
    assert _rated_line_total("JPY") == D("5")
