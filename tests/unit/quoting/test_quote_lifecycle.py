"""Quote use cases against in-memory ports: versions, approvals as data, acceptance, expiry."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from quoting_fakes import ACME, FakeCatalog, FakeStore

from tally.api.quoting.v1 import events_pb2
from tally.domain.errors import Conflict, FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from tally.pricing import Discount, DiscountKind
from tally.quoting.domain import (
    DEFAULT_RULES,
    Approver,
    BillingCycle,
    Prospect,
    QuoteStatus,
    QuoteTerms,
    UsageAssumption,
)
from tally.quoting.handlers import Quotes

D = Decimal
START = datetime(2026, 1, 1, tzinfo=UTC)


class Clock:
    def __init__(self):
        self.now = datetime(2025, 12, 1, tzinfo=UTC)

    def __call__(self):
        return self.now


def terms(**fields):
    values = dict(
        customer_id=ACME.id,
        currency="USD",
        plan_version_id="pv-1",
        start_at=START,
        term_months=12,
        billing_cycle=BillingCycle.MONTHLY,
        valid_until=datetime(2025, 12, 31, tzinfo=UTC),
        assumptions=(UsageAssumption("m-calls", "", 0, D(5000)),),
    )
    values.update(fields)
    return QuoteTerms(**values)


THIRTY_OFF = (Discount("", DiscountKind.PERCENTAGE, D(30), None, "Deal"),)


@pytest.fixture
def world():
    store, clock, woken = FakeStore(), Clock(), []
    quotes = Quotes(
        store, FakeCatalog(), rules=DEFAULT_RULES, wake_relay=lambda: woken.append(1), clock=clock
    )
    return quotes, store, clock, woken


async def test_a_quote_no_rule_applies_to_is_approved_on_submit_and_accepted_once(world):
    quotes, store, _, woken = world
    quote = await quotes.create(terms(), "sam")
    assert (quote.number, quote.status, quote.version) == ("Q-000001", QuoteStatus.DRAFT, 1)
    submitted = await quotes.submit(quote.id, 1, "sam")
    assert (submitted.status, submitted.approvals) == (QuoteStatus.APPROVED, ())
    accepted = await quotes.accept(quote.id, 1, "Pat Signer", "pat@acme.test")
    again = await quotes.accept(quote.id, 1, "Pat Signer", "pat@acme.test")
    assert accepted == again
    assert accepted.acceptance is not None and accepted.acceptance.signer_email == "pat@acme.test"
    assert len(store.outbox) == 1 and woken == [1]
    event = events_pb2.QuoteAccepted.FromString(store.outbox[0].payload)
    assert (event.quote_id, event.quote_number, event.customer_id) == (quote.id, "Q-000001", ACME.id)
    assert store.outbox[0].msg_id == f"quote-accepted:{quote.id}"
    _, transitions = store.history(quote.id)
    assert [(t.from_status, t.to_status, t.actor) for t in transitions] == [
        (None, QuoteStatus.DRAFT, "sam"),
        (QuoteStatus.DRAFT, QuoteStatus.APPROVED, "sam"),
        (QuoteStatus.APPROVED, QuoteStatus.ACCEPTED, "Pat Signer"),
    ]


async def test_a_thirty_percent_discount_needs_the_approver_role_before_it_can_be_accepted(world):
    quotes, store, _, _ = world
    quote = await quotes.create(terms(discounts=THIRTY_OFF), "sam")
    submitted = await quotes.submit(quote.id, 1, "sam")
    assert submitted.status is QuoteStatus.SUBMITTED
    [required] = submitted.approvals
    assert (required.rule_id, required.approver_role) == ("discount-over-20", "sales_director")
    assert required.reason == "discount of 30 % is over 20 %"

    with pytest.raises(FailedPrecondition, match="only APPROVED quotes can be accepted"):
        await quotes.accept(quote.id, 1, "Pat Signer", "pat@acme.test")
    with pytest.raises(PermissionDenied, match="needs approval by role sales_director"):
        await quotes.approve(quote.id, 1, Approver("rep", frozenset({"finance"})), "")
    approved = await quotes.approve(quote.id, 1, Approver("dana", frozenset({"sales_director"})), "strategic")
    assert approved.status is QuoteStatus.APPROVED
    assert (approved.approvals[0].approved_by, approved.approvals[0].given) == ("dana", True)
    assert (await quotes.accept(quote.id, 1, "Pat", "pat@acme.test")).status is QuoteStatus.ACCEPTED
    assert len(store.outbox) == 1


async def test_approvals_of_two_roles_are_both_needed(world):
    quotes, _, _, _ = world
    quote = await quotes.create(terms(discounts=THIRTY_OFF, payment_terms_days=60), "sam")
    submitted = await quotes.submit(quote.id, 1, "sam")
    assert sorted(a.approver_role for a in submitted.approvals) == ["finance", "sales_director"]
    half = await quotes.approve(quote.id, 1, Approver("fran", frozenset({"finance"})), "")
    assert half.status is QuoteStatus.SUBMITTED
    done = await quotes.approve(quote.id, 1, Approver("dana", frozenset({"sales_director"})), "")
    assert done.status is QuoteStatus.APPROVED


async def test_a_submitted_quote_cannot_be_updated_a_rejected_one_becomes_the_next_draft(world):
    quotes, store, _, _ = world
    quote = await quotes.create(terms(discounts=THIRTY_OFF), "sam")
    await quotes.submit(quote.id, 1, "sam")
    with pytest.raises(FailedPrecondition, match="only DRAFT or REJECTED quotes can be changed"):
        await quotes.update(quote.id, 1, ["discounts"], terms(), "sam")
    admin = Approver("admin", None)
    rejected = await quotes.reject(quote.id, 1, admin, "30 % is too much")
    assert (rejected.status, rejected.rejection_reason) == (QuoteStatus.REJECTED, "30 % is too much")
    revised = await quotes.update(quote.id, 1, ["discounts"], terms(discounts=()), "sam")
    assert (revised.status, revised.version, revised.terms.discounts) == (QuoteStatus.DRAFT, 2, ())
    with pytest.raises(Conflict, match="at version 2, not 1"):
        await quotes.submit(quote.id, 1, "sam")
    versions, _ = store.history(quote.id)
    assert [(v.version, len(v.terms.discounts)) for v in versions] == [(1, 1), (2, 0)]


async def test_an_expired_quote_cannot_be_accepted_and_its_expiry_is_recorded(world):
    quotes, store, clock, _ = world
    quote = await quotes.create(terms(), "sam")
    await quotes.submit(quote.id, 1, "sam")
    clock.now = datetime(2025, 12, 31, tzinfo=UTC)
    with pytest.raises(FailedPrecondition, match="expired"):
        await quotes.accept(quote.id, 1, "Pat", "pat@acme.test")
    stored = store.get(quote.id)
    assert stored.status is QuoteStatus.EXPIRED
    assert store.history(quote.id)[1][-1].reason == "valid_until passed"
    assert store.outbox == []


async def test_terms_are_checked_against_catalog_naming_each_field(world):
    quotes, store, _, _ = world
    with pytest.raises(NotFound) as missing:
        await quotes.create(terms(plan_version_id="pv-nope"), "sam")
    assert missing.value.field == "quote.plan_version_id"
    bad = terms(
        currency="EUR",
        valid_until=datetime(2025, 11, 1, tzinfo=UTC),
        assumptions=(UsageAssumption("m-nope", "", 0, D(1)), UsageAssumption("", "platform", 0, D(1))),
        prepaid_credit=D("10.001"),
    )
    with pytest.raises(InvalidArgument) as refused:
        await quotes.create(bad, "sam")
    assert [v.field for v in refused.value.violations] == [
        "quote.plan_version_id",
        "quote.currency",
        "quote.valid_until",
        "quote.prepaid_credit.amount",
        "quote.usage_assumptions[0].meter_id",
        "quote.usage_assumptions[1].charge_id",
    ]
    assert store.quotes == {}


async def test_a_prospect_whose_external_id_is_taken_is_refused(world):
    quotes, _, _, _ = world
    prospect = Prospect("acme", "Acme again")
    with pytest.raises(InvalidArgument) as refused:
        await quotes.create(terms(customer_id="", prospect=prospect), "sam")
    assert refused.value.violations[0].field == "quote.prospect.external_id"


async def test_a_redelivered_subscription_binds_the_quote_once(world):
    quotes, _, clock, _ = world
    quote = await quotes.create(terms(customer_id="", prospect=Prospect("initech", "Initech")), "sam")
    await quotes.submit(quote.id, 1, "sam")
    await quotes.accept(quote.id, 1, "Pat", "pat@initech.test")
    assert await quotes.bind_subscription("quoting-subscriptions", "m1", quote.id, "sub-1", "cus-9")
    assert not await quotes.bind_subscription("quoting-subscriptions", "m1", quote.id, "sub-1", "cus-9")
    bound = await quotes.get(quote.id)
    assert (bound.subscription_id, bound.customer_id) == ("sub-1", "cus-9")
    clock.now += timedelta(days=60)
    assert (await quotes.get(quote.id)).status_at(clock.now) is QuoteStatus.ACCEPTED


async def test_nul_characters_are_refused_before_catalog_is_asked(world):
    quotes, store, _, _ = world
    hostile = terms(customer_id="", plan_version_id="pv\x00", prospect=Prospect("ini\x00tech", "Initech"))
    with pytest.raises(InvalidArgument) as refused:
        await quotes.create(hostile, "sam")
    assert [v.field for v in refused.value.violations] == [
        "quote.plan_version_id",
        "quote.prospect.external_id",
    ]
    assert store.quotes == {}
