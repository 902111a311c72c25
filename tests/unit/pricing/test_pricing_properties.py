"""Properties of the price models, R1 rounding and credit burns, over generated prices and quantities."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from tally.money import round_line
from tally.pricing import (
    CreditGrant,
    GraduatedPrice,
    LineKind,
    PackagePrice,
    PlanLine,
    Tier,
    VolumePrice,
    burn,
    rate,
    round_lines,
)

money = st.decimals(min_value=0, max_value=1000, places=4, allow_nan=False, allow_infinity=False)
quantities = st.decimals(min_value=0, max_value=100_000, places=3, allow_nan=False, allow_infinity=False)


@st.composite
def tier_lists(draw: st.DrawFn) -> tuple[Tier, ...]:
    bounds = sorted(draw(st.sets(st.integers(min_value=1, max_value=50_000), min_size=0, max_size=5)))
    ups: list[D | None] = [D(b) for b in bounds]
    return tuple(Tier(up, draw(money), draw(money)) for up in [*ups, None])


@given(tier_lists(), quantities, quantities)
def test_graduated_never_decreases_as_quantity_grows(tiers, a, b):
    price = GraduatedPrice("USD", tiers)
    low, high = sorted((a, b))
    assert rate(price, low).amount <= rate(price, high).amount


@given(tier_lists(), quantities)
def test_graduated_equals_the_sum_of_its_tier_pieces(tiers, q):
    rating = rate(GraduatedPrice("USD", tiers), q)
    # Independent of the engine: clip q to each tier, add each reached tier's flat fee.
    expected = D(0)
    lower = D(0)
    for index, tier in enumerate(tiers):
        upper = q if tier.up_to is None else min(q, tier.up_to)
        if index == 0 or q > lower:
            expected += max(upper - lower, D(0)) * tier.unit_price + tier.flat_fee
        if tier.up_to is not None:
            lower = tier.up_to
    assert rating.amount == expected
    assert sum(line.subtotal for line in rating.breakdown) == rating.amount
    assert sum(line.units for line in rating.breakdown) == q
    for line in rating.breakdown:
        assert line.units * line.unit_price + line.flat_fee == line.subtotal


@given(
    st.integers(min_value=1, max_value=100).map(D),
    money,
    st.integers(min_value=0, max_value=50).map(D),
    st.integers(min_value=0, max_value=200),
)
def test_package_cost_is_a_step_function(size, package_price, free, k):
    price = PackagePrice("USD", size, package_price, free_units=free)
    start = free + k * size  # the last quantity of step k (step 0 is "all free")
    cost = rate(price, start).amount
    assert cost == k * package_price
    # Constant inside the next package, and one package_price more as soon as it starts.
    for inside in (start + D("0.001"), start + size / 2, start + size):
        assert rate(price, inside).amount == cost + package_price


@given(tier_lists(), st.data())
def test_volume_is_linear_within_one_tier(tiers, data):
    price = VolumePrice("USD", tiers)
    index = data.draw(st.integers(min_value=0, max_value=len(tiers) - 1))
    lower = D(0) if index == 0 else tiers[index - 1].up_to
    upper = tiers[index].up_to or lower + 10_000
    assert lower is not None
    a, b = sorted(data.draw(st.decimals(min_value=lower, max_value=upper, places=3)) for _ in range(2))
    if index > 0 and a == lower:
        return  # the lower bound itself belongs to the tier below
    tier = tiers[index]
    assert rate(price, a).amount == a * tier.unit_price + tier.flat_fee
    assert rate(price, b).amount - rate(price, a).amount == (b - a) * tier.unit_price


currencies = st.sampled_from(["USD", "JPY", "BHD", "EUR"])
amounts = st.decimals(min_value=-10_000, max_value=10_000, places=6, allow_nan=False, allow_infinity=False)


@given(currencies, st.lists(amounts, max_size=30))
def test_sum_of_rounded_lines_is_the_rounded_subtotal(currency, values):
    lines = [PlanLine(LineKind.USAGE, str(i), "line", None, v) for i, v in enumerate(values)]
    rounded = round_lines(lines, currency)
    subtotal = sum((line.amount for line in rounded), D(0))
    assert round_line(subtotal, currency) == subtotal
    for before, after in zip(lines, rounded, strict=True):
        assert abs(after.amount - before.amount) <= D(1).scaleb(-{"JPY": 0, "BHD": 3}.get(currency, 2)) / 2


NOW = datetime(2025, 3, 1, tzinfo=UTC)
grants = st.lists(
    st.builds(
        CreditGrant,
        id=st.text(alphabet="abcdefgh", min_size=1, max_size=4),
        remaining=st.decimals(min_value=0, max_value=500, places=2),
        expires_at=st.one_of(
            st.none(), st.integers(min_value=-5, max_value=5).map(lambda d: NOW + timedelta(days=d))
        ),
        cost_basis=st.sampled_from([D("0.00"), D("0.50"), D("1.00")]),
        priority=st.integers(min_value=0, max_value=2),
    ),
    max_size=8,
    unique_by=lambda g: g.id,
)


@given(grants, st.decimals(min_value=0, max_value=3000, places=2), st.randoms())
def test_burn_is_bounded_and_independent_of_grant_order(given_grants, amount, random):
    usable = sum((g.remaining for g in given_grants if g.expires_at is None or g.expires_at > NOW), D(0))
    result = burn(given_grants, amount, NOW)
    assert result.applied == min(amount, usable)
    assert sum(e.amount for e in result.entries) == result.applied
    assert sum(g.remaining for g in result.grants) == usable - result.applied
    assert len({e.grant_id for e in result.entries}) == len(result.entries)
    shuffled = list(given_grants)
    random.shuffle(shuffled)
    assert burn(shuffled, amount, NOW) == result
