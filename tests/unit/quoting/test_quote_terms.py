"""Quote terms: the rules they keep against the plan version, the approval rules as data, and storage."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from quoting_fakes import ACME, PLAN

from tally.domain.errors import InvalidArgument
from tally.pricing import (
    Discount,
    DiscountKind,
    EventValues,
    FlatPrice,
    MatrixUsage,
    MatrixUsageEntry,
    UnitPrice,
)
from tally.pricing_wire.documents import StoredDocumentError
from tally.quoting.domain import (
    Address,
    BillingCycle,
    Metric,
    NegotiatedPrice,
    Prospect,
    QuoteLine,
    QuoteTerms,
    Ramp,
    UsageAssumption,
    parse_rules,
    validate_terms,
)
from tally.quoting.stored_terms import dump_terms, load_terms

D = Decimal
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def terms(**fields):
    values = dict(
        customer_id=ACME.id,
        currency="USD",
        plan_version_id="pv-1",
        start_at=datetime(2026, 2, 1, tzinfo=UTC),
        term_months=12,
        billing_cycle=BillingCycle.MONTHLY,
        valid_until=datetime(2026, 1, 31, tzinfo=UTC),
    )
    values.update(fields)
    return QuoteTerms(**values)


def refused(quote_terms, customer=ACME):
    with pytest.raises(InvalidArgument) as error:
        validate_terms(quote_terms, PLAN, customer, now=NOW)
    return [v.field for v in error.value.violations]


def test_negotiated_lines_keep_the_rules_catalog_applies_to_overrides():
    assert refused(
        terms(
            lines=(
                QuoteLine("calls", price=NegotiatedPrice(UnitPrice("EUR", D(1)))),
                QuoteLine("platform", price=NegotiatedPrice(UnitPrice("USD", D(1)))),
                QuoteLine("platform", included_quantity=D(5)),
                QuoteLine("nope"),
                QuoteLine("storage", price=NegotiatedPrice(FlatPrice("USD", D(-1)))),
            ),
            discounts=(
                Discount("", DiscountKind.PERCENTAGE, D(101)),
                Discount("", DiscountKind.FIXED, D(1), "nope"),
            ),
        )
    ) == [
        "quote.lines[0].price.currency",
        "quote.lines[1].price",
        "quote.lines[2].charge_id",
        "quote.lines[2].included_quantity",
        "quote.lines[3].charge_id",
        "quote.lines[4].price.flat.amount",
        "quote.lines[4].price",
        "quote.discounts[0].value",
        "quote.discounts[1].charge_id",
    ]


def test_ramps_stay_in_order_within_the_term_and_usage_fits_the_prices_on_its_meter():
    assert refused(
        terms(
            term_months=6,
            ramps=(Ramp(0, 3), Ramp(2, 0), Ramp(4, 3)),
            assumptions=(
                UsageAssumption("m-calls", "", 0, EventValues((D(1),))),
                UsageAssumption("m-calls", "m-x", 0, D(1)),
                UsageAssumption("m-storage", "", -1, D("1E+20")),
            ),
        )
    ) == [
        "quote.ramps[1].months",
        "quote.ramps[1].start_month",
        "quote.ramps[2].months",
        "quote.usage_assumptions[0].usage",
        "quote.usage_assumptions[1]",
        "quote.usage_assumptions[2].period",
        "quote.usage_assumptions[2].usage",
    ]


def test_a_quote_names_a_customer_or_a_prospect_and_the_prospect_is_checked():
    assert refused(terms(customer_id="")) == ["quote.customer_id"]
    prospect = Prospect("", "", email="nobody", address=Address(country="Germany"), tax_rate_percent=D(120))
    assert refused(terms(customer_id="", prospect=prospect), customer=None) == [
        "quote.prospect.external_id",
        "quote.prospect.name",
        "quote.prospect.email",
        "quote.prospect.billing_address.country",
        "quote.prospect.tax_rate_percent",
    ]


def test_a_stored_quote_is_priced_whatever_its_validity():
    lapsed = terms(valid_until=datetime(2025, 1, 1, tzinfo=UTC))
    assert refused(lapsed) == ["quote.valid_until"]
    validate_terms(lapsed, PLAN, ACME, now=None)


def test_approval_rules_are_read_from_json_naming_what_is_wrong():
    rules = parse_rules(
        '[{"id": "big", "metric": "contract_value", "threshold": "5e5", "approver_role": "cfo", "currency": "EUR"}]'
    )
    assert [(r.id, r.metric, r.threshold, r.currency) for r in rules] == [
        ("big", Metric.CONTRACT_VALUE, D("5e5"), "EUR")
    ]
    for raw, message in (
        ("{}", "expected a JSON list"),
        (
            '[{"id": "x", "metric": "mood", "threshold": 1, "approver_role": "r"}]',
            "rule 0: metric must be one of",
        ),
        (
            '[{"id": "x", "metric": "contract_value", "threshold": 1, "approver_role": "r"}]',
            "needs an ISO 4217",
        ),
        (
            '[{"id": "x", "metric": "discount_percent", "threshold": 1, "approver_role": "r", "n": 1}]',
            "unknown field",
        ),
    ):
        with pytest.raises(ValueError, match=message):
            parse_rules(raw)


def test_every_term_is_stored_and_read_back_and_a_renamed_key_is_refused():
    full = terms(
        customer_id="",
        prospect=Prospect(
            "initech",
            "Initech",
            "ap@initech.test",
            Address("1 Main", city="Austin", country="US"),
            "EIN",
            D("8.25"),
        ),
        anniversary=True,
        payment_terms_days=45,
        lines=(QuoteLine("calls", "Calls", NegotiatedPrice(UnitPrice("USD", D("0.07")), "m-other"), D(100)),),
        discounts=(Discount("d1", DiscountKind.FIXED, D("5.00"), "calls", "Loyalty"),),
        minimum_commitment=D("900.00"),
        prepaid_credit=D("250.00"),
        ramps=(Ramp(0, 3, (QuoteLine("storage", included_quantity=D(50)),), (), "Launch"),),
        assumptions=(
            UsageAssumption("m-calls", "", 1, D(12345)),
            UsageAssumption("m-calls", "", 0, EventValues((D(40), D("70.5")))),
            UsageAssumption("", "storage", 0, MatrixUsage((MatrixUsageEntry(("eu",), D(3)),))),
        ),
    )
    document = dump_terms(full)
    assert load_terms(document, "quote_versions[q, 1].terms") == full
    renamed = json.loads(document)
    renamed["ramps"][0]["length"] = renamed["ramps"][0].pop("months")
    with pytest.raises(StoredDocumentError, match=r"ramps\[0\]: missing months; unknown length"):
        load_terms(json.dumps(renamed), "quote_versions[q, 1].terms")
