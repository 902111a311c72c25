"""The posting use case against fakes of its ports: one attempt's calls and outcome."""

import asyncio
from datetime import UTC, datetime, timedelta

from tally.erp_sync.domain import DocumentKind, Erp, SyncState, pending_records
from tally.erp_sync.mapping import parse_mapping
from tally.erp_sync.messages import stored_document
from tally.erp_sync.poster import Poster
from tally.erp_sync.posting import Rejected, Retryable, RetryPolicy
from tally.erp_sync.store import Claim
from tally.fake_erp.setup import Line, credit_note_issued, invoice_finalized

NOW = datetime(2026, 5, 1, tzinfo=UTC)
MAPPING = parse_mapping(
    Erp.NETSUITE, {"subsidiary": "1", "tax_code": "10", "income_item": "501", "currencies": {"USD": "1"}}
)


class Ledger:
    def __init__(self, states=None):
        self.finished = []
        self.customers = {}
        self.states = states or {}

    def claim(self, erp, *, now, lease, limit):
        return []

    def finish(self, record_id, transition, *, now):
        self.finished.append(transition)

    def state(self, erp, kind, document_id):
        return self.states.get(document_id)

    def customer_reference(self, erp, customer_id):
        return self.customers.get(customer_id)

    def save_customer(self, erp, customer_id, reference, *, now):
        self.customers[customer_id] = reference


class Mappings:
    def current(self, erp):
        return MAPPING


class Adapter:
    erp = Erp.NETSUITE

    def __init__(self, *, found=None, post_error=None):
        self.calls = []
        self.found = found
        self.post_error = post_error

    def ensure_customer(self, document, mapping):
        self.calls.append(("customer", document.customer_key))
        return "C1"

    def post(self, document, customer, mapping):
        self.calls.append(("post", document.key, customer))
        if self.post_error is not None:
            raise self.post_error
        return "1002"

    def find(self, kind, key):
        self.calls.append(("find", key))
        return self.found


def claim(event, kind=DocumentKind.INVOICE, *, verify=False, attempts=1):
    document = stored_document(kind, event.SerializeToString(), {})
    (record,) = pending_records(kind, document.id, (Erp.NETSUITE,), now=NOW, ids=["r1"])
    record = record.__class__(
        **{**record.__dict__, "attempts": attempts, "verify": verify, "state": SyncState.SENDING}
    )
    return Claim(record, document)


INVOICE = invoice_finalized(
    "inv-1", customer_id="acme", number="INV-1", lines=[Line("Fee", "10.00", "2.00")], issued_at=NOW
)


def attempt(adapter, ledger, item):
    poster = Poster(
        ledger,
        {Erp.NETSUITE: adapter},
        Mappings(),
        policy=RetryPolicy(5, 1.0, 8.0),
        concurrency=1,
        lease=timedelta(seconds=30),
        clock=lambda: NOW,
        draw=lambda: 0.5,
    )
    asyncio.run(poster.attempt(Erp.NETSUITE, item))
    (transition,) = ledger.finished
    return transition


def test_a_first_attempt_creates_the_customer_then_posts_without_looking_up():
    adapter, ledger = Adapter(), Ledger()
    t = attempt(adapter, ledger, claim(INVOICE))
    assert adapter.calls == [("customer", "tally-cus-acme"), ("post", "tally-inv-inv-1", "C1")]
    assert (t.state, t.erp_internal_id, ledger.customers) == (SyncState.POSTED, "1002", {"acme": "C1"})


def test_after_an_unknown_outcome_a_document_the_erp_has_is_not_posted_again():
    adapter = Adapter(found="1002")
    t = attempt(adapter, Ledger(), claim(INVOICE, verify=True, attempts=2))
    assert adapter.calls == [("find", "tally-inv-inv-1")]
    assert (t.state, t.erp_internal_id) == (SyncState.POSTED, "1002")


def test_after_an_unknown_outcome_a_document_the_erp_lacks_is_posted_with_the_known_customer():
    adapter, ledger = Adapter(found=None), Ledger()
    ledger.customers["acme"] = "C9"
    attempt(adapter, ledger, claim(INVOICE, verify=True, attempts=2))
    assert adapter.calls == [("find", "tally-inv-inv-1"), ("post", "tally-inv-inv-1", "C9")]


def test_a_timeout_reschedules_with_a_lookup_and_a_refusal_fails_with_the_message():
    timed_out = attempt(Adapter(post_error=Retryable("timed out")), Ledger(), claim(INVOICE))
    assert (timed_out.state, timed_out.verify, timed_out.next_attempt_at) == (
        SyncState.PENDING,
        True,
        NOW + timedelta(seconds=0.5),
    )
    refused = attempt(Adapter(post_error=Rejected("USER_ERROR: no")), Ledger(), claim(INVOICE))
    assert (refused.state, refused.last_error) == (SyncState.FAILED, "USER_ERROR: no")


def test_a_credit_note_waits_for_its_invoice_and_an_unmapped_currency_fails():
    note = credit_note_issued(
        "cn-1", invoice_id="inv-1", customer_id="acme", number="CN-1", lines=[Line("x", "1.00")]
    )
    adapter = Adapter()
    waiting = attempt(adapter, Ledger({"inv-1": SyncState.PENDING}), claim(note, DocumentKind.CREDIT_NOTE))
    assert (waiting.state, waiting.last_error, waiting.verify, adapter.calls) == (
        SyncState.PENDING,
        "waiting for invoice inv-1 to be posted first",
        False,
        [],
    )
    yen = invoice_finalized(
        "inv-2", customer_id="acme", number="INV-2", currency="JPY", lines=[Line("x", "100")]
    )
    unmapped = attempt(Adapter(), Ledger(), claim(yen))
    assert (unmapped.state, unmapped.last_error) == (
        SyncState.FAILED,
        "the mapping has no currency JPY (add it under currencies)",
    )
