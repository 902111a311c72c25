from decimal import Decimal

import pytest

from tally.catalog.domain import (
    MUTABLE_CUSTOMER_FIELDS,
    Address,
    CustomerInput,
    customer_update_fields,
    update_customer,
    validate_customer,
)
from tally.domain.errors import FailedPrecondition, InvalidArgument

CURRENT = validate_customer(
    CustomerInput(
        external_id="acme",
        name="Acme GmbH",
        currency="EUR",
        email="billing@acme.example",
        billing_address=Address(line1="Hauptstr. 1", city="Berlin", country="DE"),
        tax_id="DE123",
        tax_rate_percent="19.50",
        erp_ids={"NETSUITE": "4711"},
    )
)


def wanted(**fields):
    base = dict(external_id="", name="", currency="")
    base.update(fields)
    return CustomerInput(**base)


def no_subscriptions():
    return False


def fields_of(error):
    return [v.field for v in error.value.violations]


def test_only_the_masked_fields_change():
    updated = update_customer(
        CURRENT,
        wanted(name="  Acme AG ", tax_rate_percent="20", email="ignored@example.com"),
        ["name", "tax_rate_percent"],
        has_subscriptions=no_subscriptions,
    )
    assert (updated.name, updated.tax_rate_percent) == ("Acme AG", Decimal(20))
    assert (updated.email, updated.external_id, updated.currency) == ("billing@acme.example", "acme", "EUR")
    assert updated.billing_address == CURRENT.billing_address
    assert dict(updated.erp_ids) == {"NETSUITE": "4711"}


def test_an_untouched_tax_rate_keeps_its_exact_decimal():
    updated = update_customer(CURRENT, wanted(), ["tax_id"], has_subscriptions=no_subscriptions)
    assert (updated.tax_id, updated.tax_rate_percent) == ("", Decimal("19.50"))


def test_an_empty_mask_replaces_every_mutable_field_and_keeps_the_external_id():
    updated = update_customer(
        CURRENT,
        wanted(external_id="other", name="New Name", currency="EUR"),
        [],
        has_subscriptions=no_subscriptions,
    )
    assert (updated.external_id, updated.name, updated.email, updated.tax_id) == ("acme", "New Name", "", "")
    assert updated.tax_rate_percent is None
    assert updated.billing_address == Address()
    assert dict(updated.erp_ids) == {}


def test_one_part_of_the_billing_address_can_change():
    updated = update_customer(
        CURRENT,
        wanted(billing_address=Address(city="München", line1="ignored")),
        ["billing_address.city"],
        has_subscriptions=no_subscriptions,
    )
    assert updated.billing_address == Address(line1="Hauptstr. 1", city="München", country="DE")


@pytest.mark.parametrize(
    "paths",
    [["external_id"], ["id"], ["name", "external_id"], ["created_at"], ["nickname"], ["customer.name"]],
)
def test_immutable_and_unknown_mask_paths_name_the_mask(paths):
    with pytest.raises(InvalidArgument) as refused:
        customer_update_fields(paths)
    assert fields_of(refused) == ["update_mask"]
    with pytest.raises(InvalidArgument) as refused:
        update_customer(CURRENT, wanted(name="x"), paths, has_subscriptions=no_subscriptions)
    assert fields_of(refused) == ["update_mask"]


def test_an_empty_mask_means_every_mutable_field():
    assert customer_update_fields([]) == MUTABLE_CUSTOMER_FIELDS


def test_bad_new_values_are_named_under_customer():
    with pytest.raises(InvalidArgument) as refused:
        update_customer(
            CURRENT,
            wanted(name=" ", tax_rate_percent="101", currency="EURO"),
            ["name", "tax_rate_percent", "currency"],
            has_subscriptions=no_subscriptions,
        )
    assert fields_of(refused) == ["customer.name", "customer.currency", "customer.tax_rate_percent"]


def test_the_currency_changes_only_without_subscriptions():
    changed = update_customer(
        CURRENT, wanted(currency="USD"), ["currency"], has_subscriptions=no_subscriptions
    )
    assert changed.currency == "USD"
    with pytest.raises(FailedPrecondition):
        update_customer(CURRENT, wanted(currency="USD"), ["currency"], has_subscriptions=lambda: True)


def test_keeping_the_currency_does_not_ask_about_subscriptions():
    def asked():
        raise AssertionError("subscriptions looked up for an unchanged currency")

    updated = update_customer(
        CURRENT, wanted(currency="EUR", name="Acme AG"), ["currency", "name"], has_subscriptions=asked
    )
    assert updated.currency == "EUR"
