"""Quoting as a real process beside catalog: quotes checked against catalog, numbered, versioned, approved by
role, accepted into exactly one subscription, expired, rendered as a PDF."""

import asyncio
import io
import time
from datetime import UTC, datetime
from decimal import Decimal

import grpc
import pytest
from pypdf import PdfReader
from quote_stack import customer, money, stamp, subscription_of, usd_plan, valid_for, wait_for

from tally.api.catalog.v1 import catalog_service_pb2 as cat
from tally.api.common.v1 import pagination_pb2
from tally.api.quoting.v1 import events_pb2
from tally.api.quoting.v1 import quoting_service_pb2 as pb
from tally.mesh import jetstream, streams
from tally.mesh.errors import field_violations

METERS = {"calls": "m-calls", "storage": "m-storage", "messages": "m-messages"}
JANUARY = datetime(2027, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def plan(catalog):
    return usd_plan(catalog, METERS)


def draft(plan, customer_id, **fields):
    values = dict(
        customer_id=customer_id,
        currency="USD",
        plan_version_id=plan.id,
        start_at=stamp(JANUARY),
        billing_cycle=cat.BILLING_CYCLE_MONTHLY,
        term_months=12,
        valid_until=valid_for(),
        usage_assumptions=[pb.UsageAssumption(meter_id="m-calls", quantity="20000")],
    )
    values.update(fields)
    return pb.Quote(**values)


def thirty_off():
    return [cat.Discount(kind=cat.DISCOUNT_KIND_PERCENTAGE, value="30", description="Strategic deal")]


def refusal(call):
    with pytest.raises(grpc.RpcError) as refused:
        call()
    return refused.value.code(), [v.field for v in field_violations(refused.value)], refused.value.details()


def test_quotes_are_checked_against_catalog_numbered_in_order_and_listed(catalog, quotes, plan):
    acme = customer(catalog, "acme", "USD")
    code, fields, _ = refusal(
        lambda: quotes.CreateQuote(pb.CreateQuoteRequest(quote=draft(plan, "cus-nope")))
    )
    assert (code, fields) == (grpc.StatusCode.NOT_FOUND, ["quote.customer_id"])
    bad = draft(
        plan,
        acme.id,
        currency="EUR",
        lines=[
            pb.QuoteLine(
                charge_id="calls", price=cat.Price(currency="USD", unit=cat.UnitPrice(unit_price="x"))
            )
        ],
        usage_assumptions=[pb.UsageAssumption(meter_id="m-unknown", quantity="1")],
    )
    code, fields, _ = refusal(lambda: quotes.CreateQuote(pb.CreateQuoteRequest(quote=bad)))
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["quote.lines[0].price.unit.unit_price"])
    bad.lines[0].price.unit.unit_price = "0.02"
    code, fields, _ = refusal(lambda: quotes.CreateQuote(pb.CreateQuoteRequest(quote=bad)))
    assert (code, fields) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        [
            "quote.plan_version_id",
            "quote.currency",
            "quote.lines[0].price.currency",
            "quote.usage_assumptions[0].meter_id",
        ],
    )

    first = quotes.CreateQuote(pb.CreateQuoteRequest(quote=draft(plan, acme.id))).quote
    second = quotes.CreateQuote(pb.CreateQuoteRequest(quote=draft(plan, acme.id, term_months=24))).quote
    # The refused quotes took no number.
    assert (first.number, second.number, first.status, first.version) == (
        "Q-000001",
        "Q-000002",
        pb.QUOTE_STATUS_DRAFT,
        1,
    )
    assert quotes.GetQuote(pb.GetQuoteRequest(quote_id=first.id)).quote == first
    page = quotes.ListQuotes(
        pb.ListQuotesRequest(customer_id=acme.id, page=pagination_pb2.PageRequest(page_size=1))
    )
    assert [q.number for q in page.quotes] == ["Q-000002"]
    rest = quotes.ListQuotes(
        pb.ListQuotesRequest(
            customer_id=acme.id, page=pagination_pb2.PageRequest(page_token=page.page.next_page_token)
        )
    )
    assert [q.number for q in rest.quotes] == ["Q-000001"]
    code, fields, _ = refusal(lambda: quotes.GetQuote(pb.GetQuoteRequest(quote_id="no-such-quote")))
    assert (code, fields) == (grpc.StatusCode.NOT_FOUND, ["quote_id"])


def test_a_thirty_percent_discount_needs_the_approver_role_and_then_makes_one_subscription(
    catalog, quotes, as_rep, as_director, plan, peers
):
    globex = customer(catalog, "globex", "USD")
    quote = as_rep.CreateQuote(
        pb.CreateQuoteRequest(quote=draft(plan, globex.id, discounts=thirty_off()))
    ).quote
    submitted = as_rep.SubmitQuote(pb.SubmitQuoteRequest(quote_id=quote.id, version=1)).quote
    assert submitted.status == pb.QUOTE_STATUS_SUBMITTED
    assert [(a.rule_id, a.approver_role, a.reason) for a in submitted.required_approvals] == [
        ("discount-over-20", "sales_director", "discount of 30 % is over 20 %")
    ]
    accept = pb.AcceptQuoteRequest(
        quote_id=quote.id, version=1, accepted_by="Hank", accepted_by_email="hank@globex.test"
    )
    code, _, details = refusal(lambda: as_rep.AcceptQuote(accept))
    assert (code, details) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "quote Q-000003 is SUBMITTED: only APPROVED quotes can be accepted",
    )
    code, _, details = refusal(
        lambda: as_rep.ApproveQuote(pb.ApproveQuoteRequest(quote_id=quote.id, version=1))
    )
    assert code == grpc.StatusCode.PERMISSION_DENIED
    assert "needs approval by role sales_director" in details

    approved = as_director.ApproveQuote(
        pb.ApproveQuoteRequest(quote_id=quote.id, version=1, comment="strategic")
    ).quote
    assert approved.status == pb.QUOTE_STATUS_APPROVED
    assert (
        approved.required_approvals[0].approved_by,
        approved.required_approvals[0].HasField("approved_at"),
    ) == (
        "dana",
        True,
    )
    accepted = as_rep.AcceptQuote(accept).quote
    assert as_rep.AcceptQuote(accept).quote == accepted  # accepting again changes nothing
    assert (accepted.status, accepted.acceptance.signer_name, accepted.acceptance.signer_email) == (
        pb.QUOTE_STATUS_ACCEPTED,
        "Hank",
        "hank@globex.test",
    )
    subscription_id = subscription_of(quotes, quote.id)

    # QuoteAccepted delivered again, even under another message id, makes no second subscription.
    async def republish():
        nc = await jetstream.connect(peers[0].nats_url, name="test-redelivery")
        try:
            stored = await nc.jetstream().get_last_msg(streams.QUOTING.name, streams.QUOTE_ACCEPTED)
            event = events_pb2.QuoteAccepted.FromString(stored.data)
            assert event.quote_id == quote.id
            for msg_id in (f"quote-accepted:{quote.id}:again", f"quote-accepted:{quote.id}:and-again"):
                await jetstream.publish(nc.jetstream(), streams.QUOTE_ACCEPTED, stored.data, msg_id)
        finally:
            await nc.close()

    asyncio.run(republish())
    time.sleep(2.0)  # room for catalog to (not) act on the redeliveries
    listed = catalog.ListSubscriptions(cat.ListSubscriptionsRequest(customer_id=globex.id)).subscriptions
    assert [(s.id, s.quote_id) for s in listed] == [(subscription_id, quote.id)]
    terms = catalog.GetEffectiveTerms(
        cat.GetEffectiveTermsRequest(subscription_id=subscription_id, at=stamp(JANUARY))
    ).terms
    assert [d.description for d in terms.discounts] == ["Strategic deal"]

    history = quotes.GetQuoteHistory(pb.GetQuoteHistoryRequest(quote_id=quote.id))
    assert [(t.from_status, t.to_status, t.actor) for t in history.transitions] == [
        (pb.QUOTE_STATUS_UNSPECIFIED, pb.QUOTE_STATUS_DRAFT, "rep"),
        (pb.QUOTE_STATUS_DRAFT, pb.QUOTE_STATUS_SUBMITTED, "rep"),
        (pb.QUOTE_STATUS_SUBMITTED, pb.QUOTE_STATUS_APPROVED, "dana"),
        (pb.QUOTE_STATUS_APPROVED, pb.QUOTE_STATUS_ACCEPTED, "Hank"),
    ]
    assert history.transitions[2].reason == "strategic"


def test_an_update_of_a_submitted_quote_is_refused_and_a_draft_update_is_a_new_version(catalog, quotes, plan):
    initech = customer(catalog, "initech-updates", "USD")
    quote = quotes.CreateQuote(pb.CreateQuoteRequest(quote=draft(plan, initech.id))).quote
    changed = draft(plan, initech.id, minimum_commitment=money("750.00", "USD"))
    changed.id, changed.version = quote.id, 1
    request = pb.UpdateQuoteRequest(quote=changed)
    request.update_mask.paths.append("minimum_commitment")
    updated = quotes.UpdateQuote(request).quote
    assert (updated.version, updated.minimum_commitment.amount, updated.status) == (
        2,
        "750.00",
        pb.QUOTE_STATUS_DRAFT,
    )
    quotes.SubmitQuote(pb.SubmitQuoteRequest(quote_id=quote.id, version=2))  # no rule applies: approved
    changed.version = 2
    code, _, details = refusal(lambda: quotes.UpdateQuote(pb.UpdateQuoteRequest(quote=changed)))
    assert (code, details) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        f"quote {quote.number} is APPROVED: only DRAFT or REJECTED quotes can be changed",
    )
    versions = quotes.GetQuoteHistory(pb.GetQuoteHistoryRequest(quote_id=quote.id)).versions
    assert [(v.version, v.HasField("minimum_commitment")) for v in versions] == [(1, False), (2, True)]


def test_an_expired_quote_cannot_be_accepted(catalog, quotes, plan):
    hooli = customer(catalog, "hooli", "USD")
    soon = stamp(datetime.fromtimestamp(time.time() + 4, tz=UTC))
    quote = quotes.CreateQuote(pb.CreateQuoteRequest(quote=draft(plan, hooli.id, valid_until=soon))).quote
    quotes.SubmitQuote(pb.SubmitQuoteRequest(quote_id=quote.id, version=1))
    wait_for(
        lambda: (
            quotes.GetQuote(pb.GetQuoteRequest(quote_id=quote.id)).quote.status == pb.QUOTE_STATUS_EXPIRED
        ),
        "the quote's expiry",
    )
    accept = pb.AcceptQuoteRequest(
        quote_id=quote.id, version=1, accepted_by="Gavin", accepted_by_email="g@hooli.test"
    )
    code, _, details = refusal(lambda: quotes.AcceptQuote(accept))
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert details.startswith(f"quote {quote.number} expired")
    transitions = quotes.GetQuoteHistory(pb.GetQuoteHistoryRequest(quote_id=quote.id)).transitions
    assert (transitions[-1].to_status, transitions[-1].actor, transitions[-1].reason) == (
        pb.QUOTE_STATUS_EXPIRED,
        "system",
        "valid_until passed",
    )


def test_the_pdf_holds_the_number_each_periods_total_and_the_tcv(catalog, quotes, plan):
    umbrella = customer(catalog, "umbrella", "USD")
    quote = quotes.CreateQuote(
        pb.CreateQuoteRequest(
            quote=draft(
                plan,
                umbrella.id,
                term_months=3,
                ramps=[
                    pb.QuoteRamp(start_month=0, months=1, description="Pilot month", discounts=thirty_off())
                ],
            )
        )
    ).quote
    estimate = quotes.PriceQuote(pb.PriceQuoteRequest(quote_id=quote.id)).estimate
    stored = len(quotes.ListQuotes(pb.ListQuotesRequest()).quotes)
    unsaved = quotes.PriceQuote(pb.PriceQuoteRequest(quote=draft(plan, umbrella.id, term_months=3))).estimate
    # Priced, not stored: January's fee up front (300.00), then each month's calls (180.00) with the next
    # month's fee, less 30 % in the pilot month, trued up to the plan's minimum of 500.00 either way.
    assert (unsaved.total_contract_value.amount, estimate.total_contract_value.amount) == (
        "1800.00",
        "1800.00",
    )
    assert len(quotes.ListQuotes(pb.ListQuotesRequest()).quotes) == stored
    rendered = quotes.GetQuotePdf(pb.GetQuotePdfRequest(quote_id=quote.id))
    assert rendered.filename == f"{quote.number}.pdf"
    # Words in reading order, whatever line or table cell they sit in.
    text = " ".join(
        " ".join(page.extract_text() for page in PdfReader(io.BytesIO(rendered.pdf)).pages).split()
    )
    assert f"Quote {quote.number}" in text
    assert len(estimate.invoices) == 4  # the opening invoice and three months
    for invoice in estimate.invoices:
        assert f"USD {Decimal(invoice.total.amount):,.2f}" in text
    assert f"Total contract value (TCV) USD {Decimal(estimate.total_contract_value.amount):,.2f}" in text
    assert "Pilot month" in text and "Valid until" in text and "Signature" in text


def test_the_cli_creates_a_quote_from_yaml_and_takes_it_to_acceptance(
    catalog, quotes, plan, peers, tmp_path, capsys
):
    from tally.cli.__main__ import main

    wonka = customer(catalog, "wonka", "USD")
    (tmp_path / "quote.yaml").write_text(
        f"""
customerId: {wonka.id}
currency: USD
planVersionId: {plan.id}
startAt: 2027-01-01T00:00:00Z
billingCycle: BILLING_CYCLE_MONTHLY
termMonths: 6
validUntil: "{datetime.fromtimestamp(time.time() + 86400, tz=UTC).isoformat()}"
discounts: [{{kind: DISCOUNT_KIND_PERCENTAGE, value: 25, description: Chocolate deal}}]
usageAssumptions: [{{meterId: m-calls, quantity: 30000}}]
"""
    )
    endpoint = ["--target", peers[1].target, "--key", peers[1].admin_key]

    def tally(*words):
        assert main(["quotes", *words, *endpoint]) == 0
        return capsys.readouterr().out

    created = tally("create", str(tmp_path / "quote.yaml"))
    number = created.split()[1]
    assert created.startswith(f"quote {number} v1 DRAFT")
    priced = tally("price", number)
    # 25 % off 300.00 + 260.00 is 420.00 a month, trued up to the plan's minimum of 500.00: 8.33 % below list.
    assert "TCV USD 3,300.00" in priced and "effective discount 8.33 %" in priced
    assert "needs sales_director (discount of 25 % is over 20 %)" in tally("submit", number)
    assert f"quote {number} v1 APPROVED" in tally("approve", number, "--comment", "sweet")
    accepted = tally("accept", number, "--name", "Willy", "--email", "willy@wonka.test")
    assert f"quote {number} v1 ACCEPTED" in accepted
    assert (
        tally("pdf", number, "--out", str(tmp_path / "q.pdf"))
        == f"quote {number} written to {tmp_path / 'q.pdf'}\n"
    )
    assert (tmp_path / "q.pdf").read_bytes().startswith(b"%PDF")
    assert main(["quotes", "compare", number, *endpoint]) == 1
    assert "FAILED_PRECONDITION: comparing needs TALLY_METERING_TARGET" in capsys.readouterr().err


def test_numbers_outside_the_numeric_domain_are_refused_at_once_naming_the_field(catalog, quotes, plan):
    acme = customer(catalog, "numeric-acme", "USD")
    huge = draft(
        plan,
        acme.id,
        lines=[
            pb.QuoteLine(
                charge_id="calls",
                price=cat.Price(currency="USD", unit=cat.UnitPrice(unit_price="1E+999999999")),
            )
        ],
        usage_assumptions=[pb.UsageAssumption(meter_id="m-calls", quantity="1_000")],
    )
    started = time.monotonic()
    code, fields, details = refusal(lambda: quotes.CreateQuote(pb.CreateQuoteRequest(quote=huge)))
    assert time.monotonic() - started < 0.1
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert fields == ["quote.lines[0].price.unit.unit_price", "quote.usage_assumptions[0].quantity"]
    assert "VALUE_OUT_OF_RANGE" in details
