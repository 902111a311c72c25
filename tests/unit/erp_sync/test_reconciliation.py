from decimal import Decimal

from tally.erp_sync.domain import DocumentKind
from tally.erp_sync.reconciliation import BookedDocument, MismatchKind, reconcile
from tally.money import Money

INV = DocumentKind.INVOICE


def usd(amount):
    return Money(Decimal(amount), "USD")


def test_matching_books_have_no_mismatch_and_keys_not_ours_are_ignored():
    tally = [BookedDocument(INV, "tally-inv-1", usd("10.00"), "1", "INV-1")]
    erp = [BookedDocument(INV, "tally-inv-1", usd("10.00")), BookedDocument(INV, "LEGACY-77", usd("3.00"))]
    assert reconcile(tally, erp) == []


def test_missing_extra_changed_and_doubled_documents_are_each_reported():
    tally = [
        BookedDocument(INV, "tally-inv-1", usd("10.00"), "1", "INV-1"),
        BookedDocument(INV, "tally-inv-2", usd("20.00"), "2", "INV-2"),
        BookedDocument(INV, "tally-inv-3", usd("30.00"), "3", "INV-3"),
    ]
    erp = [
        BookedDocument(INV, "tally-inv-2", usd("20.01")),
        BookedDocument(INV, "tally-inv-3", usd("30.00")),
        BookedDocument(INV, "tally-inv-3", usd("30.00")),
        BookedDocument(INV, "tally-inv-9", usd("5.00")),
    ]
    found = [(m.kind, m.key, m.tally_amount, m.erp_amount, m.detail) for m in reconcile(tally, erp)]
    assert found == [
        (MismatchKind.MISSING_IN_ERP, "tally-inv-1", usd("10.00"), None, "not found in the ERP"),
        (
            MismatchKind.AMOUNT_DIFFERS,
            "tally-inv-2",
            usd("20.00"),
            usd("20.01"),
            "Tally 20.00 USD, ERP 20.01 USD",
        ),
        (MismatchKind.MISSING_IN_TALLY, "tally-inv-3", None, usd("30.00"), "posted more than once"),
        (
            MismatchKind.MISSING_IN_TALLY,
            "tally-inv-9",
            None,
            usd("5.00"),
            "in the ERP under a Tally key Tally does not know",
        ),
    ]
