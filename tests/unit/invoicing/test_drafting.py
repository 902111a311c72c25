from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tally.domain.errors import InvalidArgument
from tally.invoicing.billing.drafting import DraftInputs, ThresholdInvoice, draft_invoice
from tally.invoicing.billing.taxes import BilledCustomer, RatesByCharge
from tally.invoicing.domain import LineKind
from tally.money import Money
from tally.pricing import (
    BillingTiming,
    Charge,
    CreditGrant,
    Discount,
    DiscountKind,
    FlatPrice,
    GraduatedPrice,
    Period,
    PlanVersion,
    Tier,
    UnitPrice,
)

D = Decimal
JUNE = Period(datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))
JULY = Period(datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 8, 1, tzinfo=UTC))
ALWAYS = Period(datetime(2020, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


def usd(amount):
    return Money(D(amount), "USD")


def customer(tax="20", currency="USD"):
    return BilledCustomer("cus_1", currency, None if tax is None else D(tax))


def fee(charge_id, amount, timing=BillingTiming.IN_ARREARS, name="Platform fee", currency="USD"):
    return Charge(charge_id, name, FlatPrice(currency, D(amount), timing))


def unit(charge_id, price, included="0", name="API calls", currency="USD"):
    return Charge(charge_id, name, UnitPrice(currency, D(price)), D(included))


def summary(draft):
    return [(line.kind, line.description, line.amount, line.tax) for line in draft.lines]


def test_hybrid_plan_bills_the_base_fee_and_graduated_usage_with_its_tiers():
    tiers = (Tier(D(5), D("10.00")), Tier(D(10), D("8.00")), Tier(None, D("6.00")))
    plan = PlanVersion("USD", (fee("base", "49.00"), Charge("seats", "Seats", GraduatedPrice("USD", tiers))))
    draft = draft_invoice(DraftInputs(customer(), plan, JUNE, ALWAYS, usage={"seats": D(12)}))

    assert summary(draft) == [
        (LineKind.RECURRING, "Platform fee", usd("49.00"), usd("9.80")),
        (LineKind.USAGE, "Seats", usd("102.00"), usd("20.40")),
    ]
    seats = draft.lines[1]
    assert seats.quantity == D(12)
    assert seats.unit_price is None
    assert [(t.units, t.unit_price, t.subtotal) for t in seats.breakdown] == [
        (D(5), D("10.00"), D("50.00")),
        (D(5), D("8.00"), D("40.00")),
        (D(2), D("6.00"), D("12.00")),
    ]
    assert draft.lines[0].unit_price == D("49.00")
    assert draft.lines[0].service_period == JUNE
    assert (draft.subtotal, draft.tax, draft.total, draft.amount_due) == (
        usd("151.00"),
        usd("30.20"),
        usd("181.20"),
        usd("181.20"),
    )


def test_overage_plan_bills_the_commitment_and_only_usage_beyond_the_included_quantity():
    plan = PlanVersion(
        "USD", (fee("commit", "100.00", name="Commitment"), unit("calls", "0.10", included="1000"))
    )
    draft = draft_invoice(DraftInputs(customer(None), plan, JUNE, ALWAYS, usage={"calls": D(1500)}))

    assert summary(draft) == [
        (LineKind.RECURRING, "Commitment", usd("100.00"), usd("0.00")),
        (LineKind.USAGE, "API calls", usd("50.00"), usd("0.00")),
    ]
    calls = draft.lines[1]
    assert calls.quantity == D(1500)
    assert [(b.description, b.units, b.subtotal) for b in calls.breakdown] == [
        ("Included usage", D(1000), D(0)),
        ("Per unit", D(500), D("50.00")),
    ]
    assert calls.tax_rate_percent is None
    assert draft.total == usd("150.00")


def test_spend_below_the_minimum_commitment_is_trued_up():
    plan = PlanVersion("USD", (unit("calls", "0.50"),), minimum_commitment=D("200.00"))
    draft = draft_invoice(DraftInputs(customer("10"), plan, JUNE, ALWAYS, usage={"calls": D(150)}))

    assert summary(draft) == [
        (LineKind.USAGE, "API calls", usd("75.00"), usd("7.50")),
        (LineKind.MINIMUM_TRUE_UP, "Minimum commitment", usd("125.00"), usd("12.50")),
    ]
    assert (draft.subtotal, draft.tax, draft.total) == (usd("200.00"), usd("20.00"), usd("220.00"))


def test_a_mid_period_start_prorates_the_fee_by_seconds():
    plan = PlanVersion("USD", (fee("base", "49.00"),))
    # Active from 10 June 08:00: 1,785,600 of June's 2,592,000 seconds → 49.00 × 0.68888… = 33.7555… → 33.76.
    started = Period(datetime(2026, 6, 10, 8, tzinfo=UTC), ALWAYS.end)
    draft = draft_invoice(DraftInputs(customer(None), plan, JUNE, started))

    (line,) = draft.lines
    assert line.amount == usd("33.76")
    assert line.quantity == D(1_785_600) / D(2_592_000)
    assert draft.total == usd("33.76")


def test_a_cancellation_prorates_the_arrears_fee_and_bills_no_advance_fee_after_it():
    plan = PlanVersion(
        "USD",
        (
            fee("platform", "100.00"),
            fee("seats", "30.00", BillingTiming.IN_ADVANCE, name="Seats (next month)"),
        ),
    )
    cancelled = Period(ALWAYS.start, datetime(2026, 6, 20, 12, tzinfo=UTC))
    draft = draft_invoice(DraftInputs(customer(None), plan, JUNE, cancelled, advance_period=JULY))

    # 19.5 of 30 days active: 100.00 × 0.65.
    assert summary(draft) == [(LineKind.RECURRING, "Platform fee", usd("65.00"), usd("0.00"))]

    kept = draft_invoice(DraftInputs(customer(None), plan, JUNE, ALWAYS, advance_period=JULY))
    assert [(line.description, line.amount, line.service_period) for line in kept.lines] == [
        ("Platform fee", usd("100.00"), JUNE),
        ("Seats (next month)", usd("30.00"), JULY),
    ]


def test_a_plan_change_at_the_boundary_bills_the_next_period_fee_of_the_new_plan():
    june_plan = PlanVersion(
        "USD",
        (
            fee("platform", "100.00"),
            fee("seats", "30.00", BillingTiming.IN_ADVANCE, name="Seats"),
            unit("calls", "0.10"),
        ),
        discounts=(
            Discount("seat-deal", DiscountKind.PERCENTAGE, D(50), "seats"),
            Discount("loyal", DiscountKind.FIXED, D("1.00")),
        ),
    )
    july_plan = PlanVersion(
        "USD",
        (fee("team", "80.00", BillingTiming.IN_ADVANCE, name="Team seats"), unit("calls", "0.05")),
        discounts=(Discount("team-deal", DiscountKind.PERCENTAGE, D(25), "team"),),
    )
    draft = draft_invoice(
        DraftInputs(
            customer(None),
            june_plan,
            JUNE,
            ALWAYS,
            usage={"calls": D(100)},
            advance_period=JULY,
            advance_plan=july_plan,
        )
    )
    # June's usage and arrears fee at June's prices and June's invoice discount; July's fee (and only its own
    # discount) from July's plan. June's in-advance seats fee paid for June: it is not billed again for July.
    assert [(line.kind, line.description, line.amount, line.service_period) for line in draft.lines] == [
        (LineKind.RECURRING, "Platform fee", usd("100.00"), JUNE),
        (LineKind.USAGE, "API calls", usd("10.00"), JUNE),
        (LineKind.RECURRING, "Team seats", usd("80.00"), JULY),
        (LineKind.DISCOUNT, "Discount 25 %", usd("-20.00"), JULY),
        (LineKind.DISCOUNT, "Discount 1.00", usd("-1.00"), JUNE),
    ]
    assert draft.total == usd("169.00")

    # Moving to a plan without in-advance fees bills none for July.
    usage_only = PlanVersion("USD", (unit("calls", "0.05"),))
    plain = draft_invoice(
        DraftInputs(customer(None), june_plan, JUNE, ALWAYS, advance_period=JULY, advance_plan=usage_only)
    )
    assert [line.description for line in plain.lines] == ["Platform fee", "API calls", "Discount 1.00"]

    clash = PlanVersion("USD", (fee("platform", "90.00", BillingTiming.IN_ADVANCE),))
    with pytest.raises(InvalidArgument, match="platform"):
        draft_invoice(
            DraftInputs(customer(None), june_plan, JUNE, ALWAYS, advance_period=JULY, advance_plan=clash)
        )


def test_credits_span_two_grants_soonest_expiring_first_with_one_ledger_entry_each():
    january = Period(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))
    grant_a = CreditGrant("grant_a", D("100.00"), datetime(2026, 2, 1, tzinfo=UTC), D("0.00"))
    grant_b = CreditGrant("grant_b", D("500.00"), None, D("1.00"))
    plan = PlanVersion("USD", (unit("calls", "1.00"),))
    draft = draft_invoice(
        DraftInputs(customer(None), plan, january, ALWAYS, usage={"calls": D(150)}, grants=(grant_b, grant_a))
    )

    assert summary(draft) == [
        (LineKind.USAGE, "API calls", usd("150.00"), usd("0.00")),
        (LineKind.CREDIT, "Prepaid credit (grant_a)", usd("-100.00"), usd("0")),
        (LineKind.CREDIT, "Prepaid credit (grant_b)", usd("-50.00"), usd("0")),
    ]
    assert [(e.grant_id, e.amount, e.remaining_after) for e in draft.credit_entries] == [
        ("grant_a", D("100.00"), D("0.00")),
        ("grant_b", D("50.00"), D("450.00")),
    ]
    assert (draft.subtotal, draft.total, draft.credits_applied, draft.amount_due) == (
        usd("150.00"),
        usd("150.00"),
        usd("150.00"),
        usd("0.00"),
    )
    assert [(g.id, g.remaining) for g in draft.grants_after] == [("grant_b", D("450.00"))]


def test_credits_burn_against_the_total_after_tax_and_never_past_it():
    plan = PlanVersion("USD", (unit("calls", "1.00"),))
    grant = CreditGrant("grant", D("500.00"), None, D("1.00"))
    draft = draft_invoice(
        DraftInputs(customer("20"), plan, JUNE, ALWAYS, usage={"calls": D(25)}, grants=(grant,))
    )

    assert (draft.subtotal, draft.tax, draft.total) == (usd("25.00"), usd("5.00"), usd("30.00"))
    assert draft.credits_applied == usd("30.00")
    assert draft.amount_due == usd("0.00")
    assert [(e.amount, e.remaining_after) for e in draft.credit_entries] == [(D("30.00"), D("470.00"))]


def test_tax_is_computed_and_rounded_per_line():
    plan = PlanVersion("USD", (unit("a", "10.05", name="A"), unit("b", "10.05", name="B")))
    draft = draft_invoice(DraftInputs(customer("7.5"), plan, JUNE, ALWAYS, usage={"a": D(1), "b": D(1)}))

    # 7.5 % of 10.05 is 0.75375 → 0.75 per line; tax on the subtotal would have been 1.51.
    assert [line.tax for line in draft.lines] == [usd("0.75"), usd("0.75")]
    assert (draft.subtotal, draft.tax, draft.total) == (usd("20.10"), usd("1.50"), usd("21.60"))


@pytest.mark.parametrize(
    ("currency", "amount", "tax", "total"),
    [("USD", "4.94", "0.49", "5.43"), ("JPY", "5", "1", "6")],
)
def test_each_line_rounds_to_the_currency_minor_unit(currency, amount, tax, total):
    plan = PlanVersion(currency, (unit("calls", "0.0004", currency=currency),))
    draft = draft_invoice(
        DraftInputs(customer("10", currency), plan, JUNE, ALWAYS, usage={"calls": D(12_345)})
    )

    # 12,345 × 0.0004 = 4.938: 4.94 in USD, ¥5 in JPY; tax 10 % on the rounded line (0.494, 0.5) half-up.
    (line,) = draft.lines
    assert line.amount == Money(D(amount), currency)
    assert line.unit_price == D("0.0004")
    assert line.tax == Money(D(tax), currency)
    assert draft.total == Money(D(total), currency)


def test_a_threshold_invoice_is_netted_out_at_period_end():
    plan = PlanVersion("USD", (unit("calls", "0.10"),))
    earlier = ThresholdInvoice("inv_t1", "INV-2026-000041", D("100.00"), D("20.00"))
    draft = draft_invoice(
        DraftInputs(
            customer("20"), plan, JUNE, ALWAYS, usage={"calls": D(1500)}, threshold_invoices=(earlier,)
        )
    )

    assert summary(draft) == [
        (LineKind.USAGE, "API calls", usd("150.00"), usd("30.00")),
        (
            LineKind.ADJUSTMENT,
            "Billed on threshold invoice INV-2026-000041",
            usd("-100.00"),
            usd("-20.00"),
        ),
    ]
    assert draft.lines[1].corrects_invoice_id == "inv_t1"
    assert (draft.subtotal, draft.tax, draft.total, draft.amount_due) == (
        usd("50.00"),
        usd("10.00"),
        usd("60.00"),
        usd("60.00"),
    )


def test_a_plan_in_another_currency_than_the_customer_is_refused():
    plan = PlanVersion("EUR", (unit("calls", "0.10", currency="EUR"),))
    with pytest.raises(InvalidArgument, match=r"plan\.currency"):
        draft_invoice(DraftInputs(customer(), plan, JUNE, ALWAYS))


def test_a_tax_engine_decides_each_line_rate_and_an_exempt_customer_pays_none():
    from tally.invoicing.billing.taxes import RatesByCharge

    plan = PlanVersion("USD", (fee("base", "100.00"), unit("calls", "0.10")))
    engine = RatesByCharge({"base": D("5")})
    draft = draft_invoice(
        DraftInputs(customer("20"), plan, JUNE, ALWAYS, usage={"calls": D(333)}, tax=engine)
    )
    # The fee at its reduced 5 %, usage at the customer's 20 %: 5.00 + 6.66 (33.30 × 20 % = 6.66).
    assert [(line.charge_id, line.tax_rate_percent, line.tax) for line in draft.lines] == [
        ("base", D("5"), usd("5.00")),
        ("calls", D("20"), usd("6.66")),
    ]
    assert draft.total == usd("144.96")
    exempt = draft_invoice(
        DraftInputs(customer(None), plan, JUNE, ALWAYS, usage={"calls": D(333)}, tax=engine)
    )
    assert exempt.tax == usd("0.00") and exempt.total == usd("133.30")
    assert {line.tax_rate_percent for line in exempt.lines} == {None}


def test_a_promotional_credit_before_tax_lowers_the_tax_and_a_prepaid_credit_after_tax_does_not():
    """The issue's example: 500.00 of usage at 20 % tax and 50.00 of credit. Promotional (a discount by another
    name): taxed on 450.00, 540.00 to pay. Prepaid (money already paid): taxed on 500.00, 550.00 to pay."""
    plan = PlanVersion("USD", (unit("calls", "1.00"),))

    def draft(before_tax):
        grant = CreditGrant("g", D("50.00"), None, D(0) if before_tax else D(1), before_tax=before_tax)
        return draft_invoice(
            DraftInputs(customer("20"), plan, JUNE, ALWAYS, usage={"calls": D(500)}, grants=(grant,))
        )

    promotional = draft(before_tax=True)
    assert summary(promotional) == [
        (LineKind.USAGE, "API calls", usd("500.00"), usd("100.00")),
        (LineKind.CREDIT, "Promotional credit (g)", usd("-50.00"), usd("-10.00")),
    ]
    assert (promotional.subtotal, promotional.credits_before_tax, promotional.tax) == (
        usd("500.00"),
        usd("50.00"),
        usd("90.00"),
    )
    assert (promotional.total, promotional.credits_applied, promotional.amount_due) == (
        usd("540.00"),
        usd("0.00"),
        usd("540.00"),
    )

    prepaid = draft(before_tax=False)
    assert summary(prepaid) == [
        (LineKind.USAGE, "API calls", usd("500.00"), usd("100.00")),
        (LineKind.CREDIT, "Prepaid credit (g)", usd("-50.00"), usd("0.00")),
    ]
    assert (prepaid.tax, prepaid.total, prepaid.credits_applied, prepaid.amount_due) == (
        usd("100.00"),
        usd("600.00"),
        usd("50.00"),
        usd("550.00"),
    )
    assert [entry.amount for entry in promotional.credit_entries] == [D("50.00")]


def test_a_promotional_credit_over_two_tax_rates_lowers_each_in_proportion_and_never_goes_below_zero():
    plan = PlanVersion("USD", (unit("calls", "1.00"), unit("storage", "1.00", name="Storage")))
    rates = RatesByCharge({"storage": D(5)})
    grant = CreditGrant("g", D("1000.00"), None, D(0), before_tax=True)
    draft = draft_invoice(
        DraftInputs(
            customer("20"),
            plan,
            JUNE,
            ALWAYS,
            usage={"calls": D(300), "storage": D(100)},
            grants=(grant,),
            tax=rates,
        )
    )
    # 400.00 billed, all of it covered: 300.00 off the 20 % line and 100.00 off the 5 % line, each with its tax.
    assert summary(draft)[2:] == [
        (LineKind.CREDIT, "Promotional credit (g)", usd("-300.00"), usd("-60.00")),
        (LineKind.CREDIT, "Promotional credit (g)", usd("-100.00"), usd("-5.00")),
    ]
    assert (draft.tax, draft.total, draft.amount_due) == (usd("0.00"), usd("0.00"), usd("0.00"))
    assert [(entry.amount, entry.remaining_after) for entry in draft.credit_entries] == [
        (D("400.00"), D("600.00"))
    ]
