from datetime import UTC, datetime

import pytest

from tally.erp_sync.domain import DocumentKind, Erp, SyncState, erp_key, parse_targets, pending_records

NOW = datetime(2026, 5, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kind", "key"),
    [
        (DocumentKind.INVOICE, "tally-inv-8f14e45f"),
        (DocumentKind.CREDIT_NOTE, "tally-cn-8f14e45f"),
        (DocumentKind.PAYMENT, "tally-pay-8f14e45f"),
        (DocumentKind.CUSTOMER, "tally-cus-8f14e45f"),
    ],
)
def test_the_erp_key_is_deterministic_per_document(kind, key):
    assert erp_key(kind, "8f14e45f") == key == erp_key(kind, "8f14e45f")


def test_a_document_needs_an_id():
    with pytest.raises(ValueError):
        erp_key(DocumentKind.INVOICE, "")


@pytest.mark.parametrize(
    ("raw", "targets"),
    [
        ("netsuite", (Erp.NETSUITE,)),
        (" NetSuite , sage_intacct ", (Erp.NETSUITE, Erp.SAGE_INTACCT)),
        ("sage_intacct,netsuite,sage_intacct", (Erp.SAGE_INTACCT, Erp.NETSUITE)),
    ],
)
def test_targets_parse_case_insensitively_without_repeats(raw, targets):
    assert parse_targets(raw) == targets


@pytest.mark.parametrize("raw", ["sap", "netsuite,quickbooks", " , "])
def test_unknown_or_missing_targets_are_refused(raw):
    with pytest.raises(ValueError):
        parse_targets(raw)


def test_a_new_document_gets_one_pending_record_per_enabled_erp():
    records = pending_records(
        DocumentKind.INVOICE, "inv-1", (Erp.NETSUITE, Erp.SAGE_INTACCT), now=NOW, ids=["r1", "r2"]
    )
    assert [(r.id, r.erp, r.erp_key, r.state, r.attempts, r.erp_internal_id) for r in records] == [
        ("r1", Erp.NETSUITE, "tally-inv-inv-1", SyncState.PENDING, 0, None),
        ("r2", Erp.SAGE_INTACCT, "tally-inv-inv-1", SyncState.PENDING, 0, None),
    ]
