from decimal import Decimal

import pytest

from tally.catalog.domain import Address, CustomerInput, canonical_external_id, validate_customer
from tally.domain.errors import InvalidArgument


def raw(**overrides):
    fields = dict(external_id="acme", name="Acme GmbH", currency="EUR", tax_rate_percent="19.5")
    fields.update(overrides)
    return CustomerInput(**fields)


def fields_of(error):
    return [v.field for v in error.value.violations]


def test_a_valid_customer_keeps_its_tax_rate_as_a_decimal():
    details = validate_customer(raw(external_id="  acme  ", erp_ids={"NETSUITE": "4711"}))
    assert (details.external_id, details.tax_rate_percent, details.tax_exempt) == (
        "acme",
        Decimal("19.5"),
        False,
    )
    assert dict(details.erp_ids) == {"NETSUITE": "4711"}


def test_no_tax_rate_is_none_not_zero():
    assert validate_customer(raw(tax_rate_percent="", tax_exempt=True)).tax_rate_percent is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"external_id": ""}, "customer.external_id"),
        ({"external_id": "x" * 256}, "customer.external_id"),
        ({"name": "   "}, "customer.name"),
        ({"currency": "EURO"}, "customer.currency"),
        ({"currency": "eur"}, "customer.currency"),
        ({"tax_rate_percent": "-1"}, "customer.tax_rate_percent"),
        ({"tax_rate_percent": "100.01"}, "customer.tax_rate_percent"),
        ({"tax_rate_percent": "nineteen"}, "customer.tax_rate_percent"),
        ({"tax_rate_percent": "NaN"}, "customer.tax_rate_percent"),
        ({"email": "billing.example.com"}, "customer.email"),
        ({"billing_address": Address(country="Germany")}, "customer.billing_address.country"),
        ({"erp_ids": {"SAP": "1"}}, "customer.erp_ids['SAP']"),
    ],
)
def test_each_bad_field_is_named(overrides, field):
    with pytest.raises(InvalidArgument) as refused:
        validate_customer(raw(**overrides))
    assert fields_of(refused) == [field]


def test_boundaries_are_accepted():
    assert validate_customer(raw(external_id="x" * 255, tax_rate_percent="100")).tax_rate_percent == Decimal(
        100
    )
    assert validate_customer(raw(tax_rate_percent="0")).tax_rate_percent == Decimal(0)


def test_every_problem_is_reported_at_once():
    with pytest.raises(InvalidArgument) as refused:
        validate_customer(raw(external_id="", name="", currency="", tax_rate_percent="200"))
    assert fields_of(refused) == [
        "customer.external_id",
        "customer.name",
        "customer.currency",
        "customer.tax_rate_percent",
    ]


def test_an_external_id_is_kept_in_nfc_as_ingestion_gives_usage_its_customer():
    decomposed = "cafe\u0301-ltd"  # e + combining acute accent
    details = validate_customer(raw(external_id=decomposed))
    assert details.external_id == "caf\u00e9-ltd"
    assert (
        canonical_external_id(f" {decomposed} ") == canonical_external_id("caf\u00e9-ltd") == "caf\u00e9-ltd"
    )
