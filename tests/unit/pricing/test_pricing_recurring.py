"""Flat recurring fees: proration by seconds, and which invoice bills them (in advance or in arrears)."""

from datetime import UTC, datetime
from decimal import Decimal as D

from tally.pricing import (
    BillingTiming,
    FlatPrice,
    Period,
    billed_at,
    fee_period_on_invoice,
    fee_quantity,
    proration_factor,
    rate,
)

JUNE = Period(datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 7, 1, tzinfo=UTC))
JULY = Period(datetime(2025, 7, 1, tzinfo=UTC), datetime(2025, 8, 1, tzinfo=UTC))
FROM_16_JUNE = Period(datetime(2025, 6, 16, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))


def test_300_a_month_from_16_june_is_150_by_seconds():
    fee = FlatPrice("USD", D("300.00"))
    assert proration_factor(JUNE, FROM_16_JUNE) == D("0.5")
    assert rate(fee, fee_quantity(fee, JUNE, FROM_16_JUNE)).amount == D("150.00")


def test_proration_counts_seconds_not_days():
    one_hour_short = Period(datetime(2025, 6, 1, 1, tzinfo=UTC), datetime(2025, 7, 1, tzinfo=UTC))
    assert proration_factor(JUNE, one_hour_short) == D(719) / D(720)


def test_unprorated_fee_bills_a_partial_period_in_full_and_nothing_without_overlap():
    fee = FlatPrice("USD", D("300.00"), prorate=False)
    assert fee_quantity(fee, JUNE, FROM_16_JUNE) == 1
    assert (
        fee_quantity(fee, JUNE, Period(datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)))
        == 0
    )


def test_in_advance_is_billed_at_the_start_of_the_period_it_covers():
    assert billed_at(BillingTiming.IN_ADVANCE, JULY) == JULY.start
    assert fee_period_on_invoice(BillingTiming.IN_ADVANCE, JUNE, JULY) == JULY


def test_in_arrears_is_billed_at_the_end_of_the_period_it_covers():
    assert billed_at(BillingTiming.IN_ARREARS, JUNE) == JUNE.end
    assert fee_period_on_invoice(BillingTiming.IN_ARREARS, JUNE, JULY) == JUNE
