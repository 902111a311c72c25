"""Price validation: each bad field named by its path, every problem reported in one error."""

from decimal import Decimal as D

import pytest

from tally.domain.errors import InvalidArgument
from tally.pricing import (
    GraduatedPrice,
    MatrixCell,
    MatrixPrice,
    PackagePrice,
    PercentagePrice,
    Tier,
    TieredPackagePrice,
    UnitPrice,
    VolumePrice,
    rate,
    validate_price,
)


def fields(price) -> list[str]:
    with pytest.raises(InvalidArgument) as caught:
        validate_price(price)
    return [v.field for v in caught.value.violations]


def test_valid_prices_pass():
    validate_price(GraduatedPrice("USD", (Tier(D(5), D(1)), Tier(None, D(0)))))
    validate_price(PercentagePrice("EUR", D("1.5"), min_per_transaction=D(1), max_per_transaction=D(1)))


def test_unknown_currency_names_price_currency():
    assert fields(UnitPrice("XYZ", D(1))) == ["price.currency"]


def test_negative_unit_price():
    assert fields(UnitPrice("USD", D(-1))) == ["price.unit.unit_price"]


def test_tiers_must_increase_strictly():
    price = GraduatedPrice("USD", (Tier(D(5), D(1)), Tier(D(5), D(1)), Tier(None, D(1))))
    assert fields(price) == ["price.graduated.tiers[1].up_to"]


def test_up_to_must_be_positive():
    assert fields(VolumePrice("USD", (Tier(D(0), D(1)), Tier(None, D(1))))) == ["price.volume.tiers[0].up_to"]


def test_only_the_last_tier_is_unbounded_and_it_must_be():
    assert fields(GraduatedPrice("USD", (Tier(None, D(1)), Tier(None, D(1))))) == [
        "price.graduated.tiers[0].up_to"
    ]
    assert fields(GraduatedPrice("USD", (Tier(D(5), D(1)),))) == ["price.graduated.tiers[0].up_to"]


def test_no_tiers():
    assert fields(VolumePrice("USD", ())) == ["price.volume.tiers"]


def test_negative_flat_fee_on_a_tier():
    price = GraduatedPrice("USD", (Tier(D(5), D(1), D(-2)), Tier(None, D(1))))
    assert fields(price) == ["price.graduated.tiers[0].flat_fee"]


def test_package_size_must_be_positive_and_free_units_not_negative():
    assert fields(PackagePrice("USD", D(0), D(1), free_units=D(-1))) == [
        "price.package.package_size",
        "price.package.free_units",
    ]


def test_tiered_package_checks_size_and_tiers():
    price = TieredPackagePrice("USD", D(-10), (Tier(D(10), D(5)), Tier(D(5), D(4))))
    assert fields(price) == ["price.tiered_package.package_size", "price.tiered_package.tiers[1].up_to"]


def test_percentage_rate_and_min_above_max():
    price = PercentagePrice("USD", D(-1), min_per_transaction=D(5), max_per_transaction=D(1), free_events=-1)
    assert fields(price) == [
        "price.percentage.rate_percent",
        "price.percentage.free_events",
        "price.percentage.min_per_transaction",
    ]


def test_matrix_dimensions_cells_and_default():
    price = MatrixPrice(
        "USD",
        ("cluster", "region", "zone"),
        (MatrixCell(("a", "b", "c"), D(1)), MatrixCell(("a", "b", "c"), D(2)), MatrixCell(("a",), D(1))),
        D(-3),
    )
    assert fields(price) == [
        "price.matrix.dimensions",
        "price.matrix.cells[1].dimension_values",
        "price.matrix.cells[2].dimension_values",
        "price.matrix.default_unit_price",
    ]


def test_matrix_cell_must_have_one_value_per_dimension():
    price = MatrixPrice("USD", ("cluster", "region"), (MatrixCell(("alpha",), D(1)),), D(1))
    assert fields(price) == ["price.matrix.cells[0].dimension_values"]


def test_float_amounts_are_refused():
    assert fields(UnitPrice("USD", 0.1)) == ["price.unit.unit_price"]  # type: ignore[arg-type]


def test_every_problem_is_reported_together_with_its_reason():
    price = GraduatedPrice("ZZZ", (Tier(D(10), D(-1)), Tier(D(3), D(1)), Tier(D(20), D(1))))
    with pytest.raises(InvalidArgument) as caught:
        validate_price(price)
    assert [(v.field, v.reason) for v in caught.value.violations] == [
        ("price.currency", "unknown currency 'ZZZ': expected an ISO 4217 code such as USD, EUR or JPY"),
        ("price.graduated.tiers[0].unit_price", "must not be negative, got -1"),
        ("price.graduated.tiers[1].up_to", "must be greater than the previous tier's up_to 10, got 3"),
        ("price.graduated.tiers[2].up_to", "the last tier must be unbounded (no up_to)"),
    ]


def test_field_prefix_is_used_and_rating_validates():
    with pytest.raises(InvalidArgument) as caught:
        validate_price(UnitPrice("USD", D(-1)), field_prefix="overrides[0].price")
    assert caught.value.violations[0].field == "overrides[0].price.unit.unit_price"
    with pytest.raises(InvalidArgument):
        rate(UnitPrice("USD", D(-1)), D(1))
