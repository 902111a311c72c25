"""Usage and fees as insights prices them: one reading of a period's usage (simulations, and forecasts' matrix and
percentage charges), and flat fees for a period or for the invoice closing it (in-advance fees for the next)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from tally.insights.billing_terms import Grouped, charges_usage, period_fees, period_usage
from tally.insights.forecasts import closing_fees
from tally.pricing import (
    BillingTerms,
    BillingTiming,
    Charge,
    EventValues,
    FlatPrice,
    MatrixPrice,
    MatrixUsage,
    MatrixUsageEntry,
    PercentagePrice,
    Period,
    PlanVersion,
    UnitPrice,
)

MARCH = Period(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
APRIL = Period(datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC))
ALWAYS = Period(datetime(2020, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))

CALLS = Charge("calls", "API calls", UnitPrice("USD", Decimal("0.01")))
STORAGE = Charge("storage", "Storage", MatrixPrice("USD", ("region",), (), default_unit_price=Decimal("0.1")))
PAYMENTS = Charge("payments", "Payments", PercentagePrice("USD", rate_percent=Decimal("2.9")))
PLATFORM = Charge("platform", "Platform", FlatPrice("USD", Decimal(100), BillingTiming.IN_ADVANCE))
SUPPORT = Charge("support", "Support", FlatPrice("USD", Decimal(50), BillingTiming.IN_ARREARS))

TERMS = BillingTerms(
    subscription_id="s-1",
    customer_id="c-1",
    currency="USD",
    period=MARCH,
    plan=PlanVersion("USD", (CALLS, STORAGE, PAYMENTS, PLATFORM, SUPPORT)),
    meters={"calls": "m-calls", "storage": "m-storage", "payments": "m-payments"},
)


class Usage:
    def __init__(self) -> None:
        self.batches: list[list[tuple[str, str, datetime, datetime, tuple[str, ...]]]] = []
        self.value_reads: list[tuple[str, str, datetime, datetime]] = []

    async def quantities(
        self, queries: Sequence[tuple[str, str, datetime, datetime, tuple[str, ...]]]
    ) -> list[Grouped]:
        self.batches.append(list(queries))
        answers: dict[str, Grouped] = {
            "m-calls": {(): Decimal(7), (("x", "1"),): Decimal(3)},
            "m-storage": {(("region", "us"),): Decimal(2), (("region", "eu"),): Decimal(5)},
        }
        return [answers[meter] for _, meter, *_ in queries]

    async def values(self, customer: str, meter_id: str, start: datetime, end: datetime) -> list[Decimal]:
        self.value_reads.append((customer, meter_id, start, end))
        return [Decimal("10.5"), Decimal(4)]


async def test_a_periods_usage_is_a_total_a_grouping_by_the_matrix_dimensions_or_the_event_values():
    usage = Usage()
    found = await period_usage(TERMS, "acme", usage)
    assert found == {
        "calls": Decimal(10),
        "storage": MatrixUsage(
            (MatrixUsageEntry(("eu",), Decimal(5)), MatrixUsageEntry(("us",), Decimal(2)))
        ),
        "payments": EventValues((Decimal("10.5"), Decimal(4))),
    }
    assert usage.batches == [
        [
            ("acme", "m-calls", MARCH.start, MARCH.end, ()),
            ("acme", "m-storage", MARCH.start, MARCH.end, ("region",)),
        ]
    ]
    assert usage.value_reads == [("acme", "m-payments", MARCH.start, MARCH.end)]


async def test_usage_of_percentage_charges_alone_reads_no_quantities_and_may_span_no_time_yet():
    usage = Usage()
    found = await charges_usage(TERMS, [PAYMENTS], "acme", usage, MARCH.start, MARCH.start)
    assert found == {"payments": EventValues((Decimal("10.5"), Decimal(4)))}
    assert usage.batches == []
    assert usage.value_reads == [("acme", "m-payments", MARCH.start, MARCH.start)]


def test_a_periods_fees_are_its_own_and_the_closing_invoice_takes_in_advance_fees_for_the_next_period():
    half_of_march = Period(MARCH.start, datetime(2026, 3, 16, 12, tzinfo=UTC))
    half = Decimal("15.5") / Decimal(31)
    assert period_fees(TERMS.plan, MARCH, half_of_march) == {"platform": half, "support": half}
    # Ended in March: nothing in advance for April, the March arrears only.
    assert period_fees(TERMS.plan, MARCH, half_of_march, in_advance_for=APRIL) == {"support": half}
    assert closing_fees(TERMS.plan, MARCH, half_of_march) == {"support": half}

    into_april = Period(MARCH.start, datetime(2026, 4, 16, tzinfo=UTC))
    closing = closing_fees(TERMS.plan, MARCH, into_april)
    # The following period is taken as long as March (31 days), of which 15 are active.
    assert closing == {"platform": Decimal(15) / Decimal(31), "support": Decimal(1)}
