"""The quote store on both databases: a quote and its versions, approvals and transitions; expiry in lists;
a concurrent change conflicts instead of overwriting."""

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tally.domain.errors import Conflict
from tally.persistence.engine import create_engine
from tally.persistence.migrations import upgrade
from tally.quoting.domain import BillingCycle, Quote, QuoteStatus, QuoteTerms, RequiredApproval, Transition
from tally.quoting.store import QuoteStore

MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "quoting" / "migrations"
T0 = datetime(2026, 5, 1, tzinfo=UTC)


@pytest.fixture
def store(database_url):
    engine = create_engine(database_url)
    upgrade(engine, MIGRATIONS)
    yield QuoteStore(engine)
    engine.dispose()


def make(store, valid_until):
    terms = QuoteTerms("cus-1", "USD", "pv-1", T0, 12, BillingCycle.MONTHLY, valid_until)
    with store.transaction() as tx:
        sequence, number = tx.next_number()
        quote = Quote(f"q{sequence}", number, QuoteStatus.DRAFT, 1, terms, T0, T0, customer_id="cus-1")
        tx.add(quote, sequence, "sam")
        tx.record(quote.id, Transition(None, QuoteStatus.DRAFT, 1, "sam", T0, "created"))
    return quote


def test_versions_approvals_and_transitions_are_kept_and_lapsed_quotes_list_as_expired(store):
    lapsed = make(store, datetime(2026, 5, 2, tzinfo=UTC))
    live = make(store, datetime(2026, 7, 1, tzinfo=UTC))
    needed = (RequiredApproval("discount-over-20", "discount of 30 % is over 20 %", "sales_director"),)
    with store.transaction() as tx:
        quote = tx.get(live.id)
        submitted = replace(quote, status=QuoteStatus.SUBMITTED, approvals=needed)
        tx.save(submitted, by="sam")
        tx.record(
            live.id, Transition(QuoteStatus.DRAFT, QuoteStatus.SUBMITTED, 1, "sam", T0, "needs approval")
        )
        revised = replace(submitted, version=2, terms=replace(submitted.terms, term_months=24), approvals=())
        tx.save(revised, by="sam")
    read = store.get(live.id)
    assert (read.version, read.terms.term_months, read.approvals) == (2, 24, ())
    versions, transitions = store.history(live.id)
    assert [(v.version, v.terms.term_months, v.created_by) for v in versions] == [
        (1, 12, "sam"),
        (2, 24, "sam"),
    ]
    assert [t.to_status for t in transitions] == [QuoteStatus.DRAFT, QuoteStatus.SUBMITTED]

    now = datetime(2026, 6, 1, tzinfo=UTC)
    expired = store.listing(
        customer_id="cus-1", status=QuoteStatus.EXPIRED, now=now, before_sequence=None, limit=10
    )
    drafts = store.listing(
        customer_id=None, status=QuoteStatus.DRAFT, now=now, before_sequence=None, limit=10
    )
    assert ([q.id for _, q in expired], drafts) == ([lapsed.id], [])
    assert [
        q.number
        for _, q in store.listing(customer_id=None, status=None, now=now, before_sequence=2, limit=10)
    ] == ["Q-000001"]


def test_a_quote_changed_since_it_was_read_conflicts(store):
    quote = make(store, datetime(2026, 7, 1, tzinfo=UTC))
    with store.transaction() as first:
        seen = first.get(quote.id)
        with store.transaction() as second:
            second.save(replace(second.get(quote.id), rejection_reason="other"), by="other")
        with pytest.raises(Conflict, match="changed concurrently"):
            first.save(replace(seen, status=QuoteStatus.SUBMITTED), by="sam")
