"""The demo's quote: a new customer quoted on the usage plan, approved, accepted, and then billed like the rest.

Catalog makes the customer and the subscription from the accepted quote; the invoice table shows the quote
number beside the invoice of that subscription (``Subscription.quote_id`` → ``GetQuote``).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import grpc.aio

from tally.api.catalog.v1 import catalog_service_pb2 as cat
from tally.api.catalog.v1 import catalog_service_pb2_grpc as cat_grpc
from tally.api.invoicing.v1 import invoicing_service_pb2 as inv
from tally.api.quoting.v1 import quoting_service_pb2 as pb
from tally.api.quoting.v1 import quoting_service_pb2_grpc as pb_grpc
from tally.cli.quotes import estimate_lines
from tally.cli.stack import StackError
from tally.mesh.wire import timestamp_to_wire

PROSPECT = "initech"
"""One of the demo's usage-sending customers, not subscribed yet: the quote makes it one."""
SUBSCRIPTION_WAIT_S = 20.0


@dataclass(frozen=True)
class DemoQuote:
    quote_id: str
    number: str
    subscription_id: str


def _quote(plan_version_id: str, meter_ids: dict[str, str], start: datetime) -> pb.Quote:
    """A year of the USD usage plan for a prospect, 25 % off, 300 active users' usage assumed a month."""
    return pb.Quote(
        prospect=cat.Customer(
            external_id=PROSPECT,
            name="Initech LLC",
            email="ap@initech.example",
            tax_rate_percent="8.25",
            billing_address=cat.Address(line1="4120 Freidrich Ln", city="Austin", region="TX", country="US"),
        ),
        currency="USD",
        plan_version_id=plan_version_id,
        start_at=timestamp_to_wire(start),
        billing_cycle=cat.BILLING_CYCLE_MONTHLY,
        term_months=12,
        valid_until=timestamp_to_wire(datetime.now(UTC) + timedelta(days=30)),
        discounts=[
            cat.Discount(kind=cat.DISCOUNT_KIND_PERCENTAGE, value="25", description="Launch partner 25 %")
        ],
        usage_assumptions=[
            pb.UsageAssumption(meter_id=meter_ids["api_calls"], quantity="50000"),
            pb.UsageAssumption(meter_id=meter_ids["active_users"], quantity="300"),
            pb.UsageAssumption(meter_id=meter_ids["seats"], quantity="20"),
            pb.UsageAssumption(meter_id=meter_ids["peak_connections"], quantity="5000"),
        ],
    )


async def quote_new_customer(
    channel: grpc.aio.Channel, plan_version_id: str, meter_ids: dict[str, str], start: datetime
) -> DemoQuote:
    """Creates, prices, submits, approves and accepts the quote, then waits for catalog's subscription."""
    stub = pb_grpc.QuotingServiceStub(channel)
    quote = (
        await stub.CreateQuote(pb.CreateQuoteRequest(quote=_quote(plan_version_id, meter_ids, start)))
    ).quote
    print(f"\nquote {quote.number} for {PROSPECT} (a prospect), 12 months from {start:%Y-%m-%d}, 25 % off:")
    estimate = (await stub.PriceQuote(pb.PriceQuoteRequest(quote_id=quote.id))).estimate
    for row in estimate_lines(estimate)[-2:]:
        print(row)
    quote = (await stub.SubmitQuote(pb.SubmitQuoteRequest(quote_id=quote.id, version=quote.version))).quote
    needs = ", ".join(f"{a.approver_role} ({a.reason})" for a in quote.required_approvals)
    print(f"  submitted: needs {needs}")
    approve = pb.ApproveQuoteRequest(
        quote_id=quote.id, version=quote.version, approver="Dana (sales director)", comment="launch partner"
    )
    quote = (await stub.ApproveQuote(approve)).quote
    accept = pb.AcceptQuoteRequest(
        quote_id=quote.id,
        version=quote.version,
        accepted_by="Bill Lumbergh",
        accepted_by_email="bill@initech.example",
    )
    quote = (await stub.AcceptQuote(accept)).quote
    print(f"  approved by Dana, accepted by {quote.acceptance.signer_name} <{quote.acceptance.signer_email}>")
    deadline = time.monotonic() + SUBSCRIPTION_WAIT_S
    while not quote.subscription_id:
        if time.monotonic() > deadline:
            raise StackError(
                f"catalog made no subscription from quote {quote.number} in {SUBSCRIPTION_WAIT_S:.0f}s"
            )
        await asyncio.sleep(0.2)
        quote = (await stub.GetQuote(pb.GetQuoteRequest(quote_id=quote.id))).quote
    print(f"  catalog made customer {PROSPECT} and subscription {quote.subscription_id} from it")
    return DemoQuote(quote.id, quote.number, quote.subscription_id)


async def compare_with_invoices(channel: grpc.aio.Channel, quote: DemoQuote) -> None:
    """One line per billed period: what the quote estimated against what was invoiced."""
    stub = pb_grpc.QuotingServiceStub(channel)
    compared = await stub.CompareQuoteToActual(pb.CompareQuoteToActualRequest(quote_id=quote.quote_id))
    for period in compared.periods:
        start = period.period.start.ToDatetime()
        print(
            f"quote {quote.number} against {start:%B %Y}: estimated {period.estimated_subtotal.currency} "
            f"{Decimal(period.estimated_subtotal.amount):,.2f}, invoiced {Decimal(period.invoiced_subtotal.amount):,.2f}"
            f" ({period.variance_percent or '–'} %: usage differs from the assumptions)"
        )


async def quote_numbers(
    catalog: grpc.aio.Channel, quoting: grpc.aio.Channel, invoices: list[inv.Invoice]
) -> dict[str, str]:
    """The number of the quote each invoiced subscription came from, by subscription id (none: absent)."""
    subscriptions = cat_grpc.CatalogServiceStub(catalog)
    quotes = pb_grpc.QuotingServiceStub(quoting)
    numbers = {}
    for subscription_id in dict.fromkeys(invoice.subscription_id for invoice in invoices):
        request = cat.GetSubscriptionRequest(subscription_id=subscription_id)
        quote_id = (await subscriptions.GetSubscription(request)).subscription.quote_id
        if quote_id:
            numbers[subscription_id] = (
                await quotes.GetQuote(pb.GetQuoteRequest(quote_id=quote_id))
            ).quote.number
    return numbers
