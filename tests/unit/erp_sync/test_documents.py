from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tally.domain.errors import InvalidArgument
from tally.erp_sync.domain import DocumentKind
from tally.erp_sync.messages import document_from_payload, stored_document
from tally.fake_erp.setup import Line, credit_note_issued, invoice_finalized

ISSUED = datetime(2026, 11, 1, 0, 30, tzinfo=UTC)


def test_an_invoice_posts_its_lines_and_prepaid_credit_and_totals_its_amount_due():
    event = invoice_finalized(
        "inv-1",
        customer_id="acme",
        number="INV-1",
        lines=[Line("Fee", "49.00", "9.80", "ch-fee")],
        credits="10.00",
        issued_at=ISSUED,
    )
    document = document_from_payload(DocumentKind.INVOICE, event.invoice.SerializeToString())
    assert (document.key, document.customer_key, document.issued_on, document.due_on) == (
        "tally-inv-inv-1",
        "tally-cus-acme",
        date(2026, 11, 1),
        date(2026, 12, 1),
    )
    assert [
        (line.charge_id, line.prepaid_credit, line.amount.amount, line.tax.amount) for line in document.lines
    ] == [
        ("ch-fee", False, Decimal("49.00"), Decimal("9.80")),
        ("", True, Decimal("-10.00"), Decimal("0")),
    ]
    assert document.receivable.amount == Decimal("48.80")
    stored = stored_document(
        DocumentKind.INVOICE, event.SerializeToString(), {"traceparent": "00-ab-cd-01", "x": "y"}
    )
    assert (stored.receivable, stored.issued_at, stored.trace_context) == (
        "48.80",
        ISSUED,
        '{"traceparent": "00-ab-cd-01"}',
    )


def test_a_document_whose_lines_do_not_add_up_is_refused_naming_the_field():
    event = invoice_finalized(
        "inv-1", customer_id="acme", number="INV-1", lines=[Line("Fee", "49.00", "9.80")]
    )
    event.invoice.amount_due.amount = "58.81"
    with pytest.raises(InvalidArgument) as refused:
        stored_document(DocumentKind.INVOICE, event.SerializeToString(), {})
    assert [(v.field, v.reason) for v in refused.value.violations] == [
        ("invoice.amount_due", "is 58.81 USD but the lines and their tax add up to 58.80 USD")
    ]


@pytest.mark.parametrize(
    ("field", "clear"), [("credit_note.number", "number"), ("credit_note.issued_at", "issued_at")]
)
def test_a_credit_note_needs_its_number_and_issue_date(field, clear):
    event = credit_note_issued(
        "cn-1", invoice_id="inv-1", customer_id="acme", number="CN-1", lines=[Line("x", "1.00")]
    )
    event.credit_note.ClearField(clear)
    with pytest.raises(InvalidArgument) as refused:
        stored_document(DocumentKind.CREDIT_NOTE, event.SerializeToString(), {})
    assert [v.field for v in refused.value.violations] == [field]
