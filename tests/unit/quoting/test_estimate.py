"""The estimate drafts a quote's invoices as invoicing bills them: worked examples, by hand."""

from datetime import UTC, datetime
from decimal import Decimal

from quoting_fakes import PLAN

from tally.pricing import BillingTiming, Discount, DiscountKind, FlatPrice, UnitPrice
from tally.quoting.domain import (
    BillingCycle,
    EstimatedLineKind,
    ListedCharge,
    ListedPlan,
    NegotiatedPrice,
    QuoteLine,
    QuoteTerms,
    Ramp,
    UsageAssumption,
    price_quote,
)

D = Decimal


def utc(*parts):
    return datetime(*parts, tzinfo=UTC)


FEE_AND_UNITS = ListedPlan(
    "pv-2",
    "USD",
    (
        ListedCharge(
            "fee", "Fee", FlatPrice("USD", D("31.00"), BillingTiming.IN_ADVANCE, prorate=True), "", D(0)
        ),
        ListedCharge("units", "Units", UnitPrice("USD", D("1.00")), "m", D(0)),
    ),
)


def quote(plan=PLAN, **fields):
    values = dict(
        customer_id="c",
        currency=plan.currency,
        plan_version_id=plan.id,
        start_at=utc(2026, 1, 15),
        term_months=3,
        billing_cycle=BillingCycle.MONTHLY,
        valid_until=utc(2026, 1, 1),
        assumptions=(UsageAssumption("m", "", 0, D(10)),),
    )
    values.update(fields)
    return QuoteTerms(**values)


def amounts(invoice):
    return [(line.kind.value, line.amount) for line in invoice.lines]


def test_a_mid_month_start_bills_fees_in_advance_prorated_to_the_term_and_burns_the_credit_first():
    priced = price_quote(quote(FEE_AND_UNITS, prepaid_credit=D("50.00")), FEE_AND_UNITS, D(10)).estimate
    # Opening: January's fee from the 15th (17 of 31 days); each month closes with its usage and the next
    # month's fee; April's fee covers the 1st to the 15th only (14 of 30 days), and April closes without one.
    assert [(i.opening, i.period_index, i.period.start.month) for i in priced.invoices] == [
        (True, 1, 1),
        (False, 1, 1),
        (False, 2, 2),
        (False, 3, 3),
        (False, 4, 4),
    ]
    assert [i.subtotal for i in priced.invoices] == [
        D("17.00"),
        D("41.00"),
        D("41.00"),
        D("24.47"),
        D("10.00"),
    ]
    assert [i.tax for i in priced.invoices] == [D("1.70"), D("4.10"), D("4.10"), D("2.45"), D("1.00")]
    assert [i.credits_applied for i in priced.invoices] == [D("18.70"), D("31.30"), D(0), D(0), D(0)]
    assert (priced.invoices[1].amount_due, priced.credit_remaining) == (D("13.80"), D(0))
    assert amounts(priced.invoices[3]) == [("USAGE", D("10.00")), ("RECURRING", D("14.47"))]
    assert priced.invoices[3].lines[1].service_period.start == utc(2026, 4, 1)


def test_yen_lines_round_half_up_to_whole_yen_and_the_minimum_trues_up_the_rest():
    plan = ListedPlan(
        "pv-jp",
        "JPY",
        (ListedCharge("units", "Units", UnitPrice("JPY", D("0.35")), "m", D(0)),),
        minimum_commitment=D(1000),
    )
    priced = price_quote(quote(plan, start_at=utc(2026, 1, 1), term_months=1), plan, D(10)).estimate
    (invoice,) = priced.invoices
    # 0.35 × 10 = 3.5 → 4 yen; the minimum tops 3.5 up by 996.5 → 997; tax 10 % per rounded line.
    assert amounts(invoice) == [("USAGE", D(4)), ("MINIMUM_TRUE_UP", D(997))]
    assert (invoice.subtotal, invoice.tax) == (D(1001), D(100))


def test_usage_of_its_own_period_comes_before_every_periods_and_a_charge_names_its_meter():
    terms = quote(
        start_at=utc(2026, 1, 1),
        term_months=2,
        assumptions=(
            UsageAssumption("m-calls", "", 2, D(3000)),
            UsageAssumption("", "calls", 0, D(1000)),
            UsageAssumption("m-storage", "", 0, D(30)),
        ),
    )
    january, february = price_quote(terms, PLAN, None).estimate.invoices
    # Calls: 1,000 × 0.10 = 100.00, then 1,000 × 0.10 + 2,000 × 0.05 = 200.00; storage (30 − 10) × 0.50.
    assert amounts(january) == [("RECURRING", D("100.00")), ("USAGE", D("100.00")), ("USAGE", D("10.00"))]
    assert amounts(february)[1] == ("USAGE", D("200.00"))
    assert january.tax == 0


def test_a_ramp_has_its_own_prices_and_adds_its_discounts_to_the_quotes():
    cheap = NegotiatedPrice(UnitPrice("USD", D("0.01")))
    terms = quote(
        start_at=utc(2026, 1, 1),
        term_months=3,
        assumptions=(UsageAssumption("m-calls", "", 0, D(1000)),),
        discounts=(Discount("d", DiscountKind.PERCENTAGE, D(10), None, "Deal"),),
        ramps=(Ramp(0, 1, (QuoteLine("calls", price=cheap),), (Discount("r", DiscountKind.FIXED, D(5)),)),),
    )
    january, february, _ = price_quote(terms, PLAN, None).estimate.invoices
    # January: fee 100.00 + 1,000 calls at 0.01 = 110.00, 10 % off (11.00), then 5.00 off.
    assert amounts(january) == [
        ("RECURRING", D("100.00")),
        ("USAGE", D("10.00")),
        ("USAGE", D("0.00")),
        ("DISCOUNT", D("-11.00")),
        ("DISCOUNT", D("-5.00")),
    ]
    # February: list calls (1,000 × 0.10) and the quote's 10 % only.
    assert amounts(february)[1:] == [("USAGE", D("100.00")), ("USAGE", D("0.00")), ("DISCOUNT", D("-20.00"))]
    assert [line.kind for line in january.lines].count(EstimatedLineKind.DISCOUNT) == 2


def test_contract_values_count_subtotals_and_the_discount_is_against_list():
    terms = quote(
        start_at=utc(2026, 1, 1),
        term_months=24,
        billing_cycle=BillingCycle.QUARTERLY,
        assumptions=(UsageAssumption("m-calls", "", 0, D(1000)),),
        discounts=(Discount("d", DiscountKind.PERCENTAGE, D(25)),),
    )
    priced = price_quote(terms, PLAN, D(20))
    # A quarter: fee 100.00 (a quarter is one billing period) + calls 100.00 = 200.00 at list, 150.00 quoted.
    assert len(priced.estimate.invoices) == 8
    value = priced.value
    assert (value.total, value.list_total, value.annual, value.first_year) == (
        D("1200.00"),
        D("1600.00"),
        D("600.00"),
        D("600.00"),
    )
    assert (value.effective_discount_percent, value.tax) == (D("25.00"), D("240.00"))


def test_an_open_ended_quote_is_estimated_over_its_first_year():
    terms = quote(start_at=utc(2026, 3, 10), term_months=0, anniversary=True)
    invoices = price_quote(terms, PLAN, None).estimate.invoices
    assert len(invoices) == 12
    assert (invoices[0].period.start, invoices[-1].period.end) == (utc(2026, 3, 10), utc(2027, 3, 10))
