from decimal import Decimal

import pytest

from tally.invoicing.domain import InvoiceStatus, settles
from tally.money import CurrencyMismatch, Money


def eur(amount):
    return Money(Decimal(amount), "EUR")


@pytest.mark.parametrize(
    ("status", "paid", "expected"),
    [
        (InvoiceStatus.FINALIZED, "119.00", True),
        (InvoiceStatus.FINALIZED, "119.01", True),
        (InvoiceStatus.FINALIZED, "118.99", False),
        (InvoiceStatus.DRAFT, "119.00", False),
        (InvoiceStatus.VOID, "119.00", False),
        (InvoiceStatus.PAID, "119.00", False),
    ],
)
def test_only_a_finalized_invoice_covered_in_full_is_settled(status, paid, expected):
    assert settles(status, eur("119.00"), eur(paid)) is expected


def test_a_zero_amount_due_is_settled_by_nothing():
    assert settles(InvoiceStatus.FINALIZED, eur("0"), eur("0.00"))


def test_payments_in_another_currency_never_count():
    with pytest.raises(CurrencyMismatch):
        settles(InvoiceStatus.FINALIZED, eur("119.00"), Money(Decimal("119.00"), "USD"))
