import pytest

from tally.erp_sync.documents import DocumentLine
from tally.erp_sync.domain import Erp
from tally.erp_sync.mapping import MappingError, MappingGap, parse_mapping
from tally.money import Money

NETSUITE = {
    "subsidiary": "1",
    "tax_code": "10",
    "income_item": "501",
    "credit_item": "502",
    "class": 7,
    "currencies": {"USD": "1"},
    "items": {"charge-seats": "510"},
}


def line(charge_id="", credit=False):
    return DocumentLine("x", Money.parse("1.00", "USD"), Money.parse("0", "USD"), charge_id, credit)


def test_a_complete_mapping_picks_the_item_by_charge_and_falls_back_to_the_income_item():
    mapping = parse_mapping(Erp.NETSUITE, NETSUITE)
    assert (mapping.class_, mapping.currency_for("USD")) == ("7", "1")
    assert [
        mapping.item_for(line("charge-seats")),
        mapping.item_for(line("other")),
        mapping.item_for(line(credit=True)),
    ] == [
        "510",
        "501",
        "502",
    ]


def test_every_problem_is_named_at_once():
    raw = {"tax_code": True, "income_item": "", "currencies": {"usd": "1", "EUR": ""}, "itemz": {}}
    with pytest.raises(MappingError) as refused:
        parse_mapping(Erp.NETSUITE, raw)
    assert refused.value.problems == [
        "netsuite.itemz is not a mapping key (expected one of subsidiary, ar_account, tax_code, income_item, "
        "credit_item, department, class, location, terms, currencies, items)",
        "netsuite.tax_code must be a string id, got bool",
        "netsuite.currencies.EUR must be a non-empty string id",
        "netsuite.subsidiary is required",
        "netsuite.income_item is required",
        "netsuite.currencies.usd is not an ISO 4217 code",
    ]


def test_intacct_needs_its_ar_account_and_a_missing_table_is_named():
    with pytest.raises(MappingError, match=r"sage_intacct.ar_account is required"):
        parse_mapping(
            Erp.SAGE_INTACCT, {"tax_code": "2200", "income_item": "4000", "currencies": {"USD": "USD"}}
        )
    with pytest.raises(MappingError, match=r"\[sage_intacct\] is missing"):
        parse_mapping(Erp.SAGE_INTACCT, None)


def test_a_currency_without_a_mapping_is_a_gap_that_names_it():
    with pytest.raises(MappingGap, match="no currency JPY"):
        parse_mapping(Erp.NETSUITE, NETSUITE).currency_for("JPY")
