"""Quote-to-cash against a real billing run: what a quote estimates is what invoicing bills, to the cent.

Catalog, metering, ingestion, invoicing and quoting run as processes. Quotes are accepted (catalog makes the
subscriptions with the quoted terms), usage equal to the assumptions goes through ingestion, billing runs
over the first period, and each invoice is compared line by line with the quote's estimate; then usage 20 %
above the assumptions shows up as the variance CompareQuoteToActual reports.
"""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from quote_stack import (
    Stub,
    create_meter,
    customer,
    money,
    stamp,
    start_trusting,
    subscription_of,
    usd_plan,
    valid_for,
    wait_for,
)

from tally.api.catalog.v1 import catalog_service_pb2 as cat
from tally.api.catalog.v1 import catalog_service_pb2_grpc as cat_grpc
from tally.api.common.v1 import period_pb2
from tally.api.ingestion.v1 import events_pb2
from tally.api.ingestion.v1 import ingestion_service_pb2 as ing
from tally.api.ingestion.v1 import ingestion_service_pb2_grpc as ing_grpc
from tally.api.invoicing.v1 import invoicing_service_pb2 as inv
from tally.api.invoicing.v1 import invoicing_service_pb2_grpc as inv_grpc
from tally.api.metering.v1 import metering_service_pb2 as met
from tally.api.metering.v1 import metering_service_pb2_grpc as met_grpc
from tally.api.quoting.v1 import quoting_service_pb2 as pb
from tally.api.quoting.v1 import quoting_service_pb2_grpc as pb_grpc
from tally.mesh.auth import generate_key
from tally.mesh.roles import service_scopes
from tally.testing.databases import sqlite_url
from tally.testing.services import ServiceProcess

SEPTEMBER = datetime(2026, 9, 1, tzinfo=UTC)
OCTOBER = datetime(2026, 10, 1, tzinfo=UTC)
AFTER_SEPTEMBER = datetime(2026, 10, 14, 2, tzinfo=UTC)
"""Billing runs when September's invoices are final. Not on 1 October: invoicing closes the first period of a
subscription only once 28 days have passed since the subscription's start (its shortest-cycle shortcut counts
from the start, not from the period's end), so a start on 15 September is first billed from 13 October."""

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def stack(tmp_path_factory, nats_module):
    root = tmp_path_factory.mktemp("billing-stack")
    identities = {
        name: generate_key(f"service:{name}", service_scopes(name)) for name in ("invoicing", "quoting")
    }
    records = [record for _, record in identities.values()]

    def process(name, module, **env):
        (root / name).mkdir()
        return ServiceProcess(name, module, sqlite_url(root / name), nats_module.url, root / name, env=env)

    catalog = process("catalog", "tally.catalog")
    metering = process("metering", "tally.metering", TALLY_METERING_CLOSE_MARGIN_SECONDS="0")
    ingestion = process("ingestion", "tally.ingestion", TALLY_INGEST_METER_REFRESH_SECONDS="0.5")
    started = [catalog, metering, ingestion]
    start_trusting(started, records)
    invoicing = process(
        "invoicing",
        "tally.invoicing",
        TALLY_SERVICE_TOKEN=identities["invoicing"][0],
        TALLY_CATALOG_TARGET=catalog.target,
        TALLY_METERING_TARGET=metering.target,
        TALLY_BILLING_GRACE_MINUTES="60",
    )
    start_trusting([invoicing], records)
    quoting = process(
        "quoting",
        "tally.quoting",
        TALLY_SERVICE_TOKEN=identities["quoting"][0],
        TALLY_CATALOG_TARGET=catalog.target,
        TALLY_METERING_TARGET=metering.target,
        TALLY_INVOICING_TARGET=invoicing.target,
    )
    start_trusting([quoting], records)
    started += [invoicing, quoting]
    stubs = {
        "catalog": Stub(catalog, cat_grpc.CatalogServiceStub),
        "metering": Stub(metering, met_grpc.MeteringServiceStub),
        "ingestion": Stub(ingestion, ing_grpc.IngestionServiceStub),
        "invoicing": Stub(invoicing, inv_grpc.InvoicingServiceStub),
        "quotes": Stub(quoting, pb_grpc.QuotingServiceStub),
    }
    meters = {
        "calls": create_meter(stubs["metering"], "api-calls", "api_calls", "count"),
        "storage": create_meter(stubs["metering"], "storage-gb", "storage", "gb"),
        "messages": create_meter(stubs["metering"], "messages", "messages", "count"),
    }
    yield stubs, meters
    for stub in stubs.values():
        stub.close()
    for service in reversed(started):
        service.kill()


def jpy_plan(catalog, meters):
    """Yen: a 5,000 fee in arrears; calls at fractions of a yen; storage by volume; messages by the
    thousand; a minimum commitment of 20,000."""
    plan = catalog.CreatePlan(cat.CreatePlanRequest(plan=cat.Plan(name="Growth JP"))).plan
    return catalog.PublishPlanVersion(
        cat.PublishPlanVersionRequest(
            plan_version=cat.PlanVersion(
                plan_id=plan.id,
                currency="JPY",
                minimum_commitment=money("20000", "JPY"),
                charges=[
                    cat.Charge(
                        id="platform",
                        name="Platform fee",
                        price=cat.Price(
                            currency="JPY",
                            flat=cat.FlatPrice(amount="5000", timing=cat.BILLING_TIMING_IN_ARREARS),
                        ),
                    ),
                    cat.Charge(
                        id="calls",
                        name="API calls",
                        price=cat.Price(
                            currency="JPY",
                            meter_id=meters["calls"],
                            graduated=cat.GraduatedPrice(
                                tiers=[cat.Tier(up_to="1000", unit_price="0.35"), cat.Tier(unit_price="0.25")]
                            ),
                        ),
                    ),
                    cat.Charge(
                        id="storage",
                        name="Storage (GB)",
                        price=cat.Price(
                            currency="JPY",
                            meter_id=meters["storage"],
                            volume=cat.VolumePrice(
                                tiers=[cat.Tier(up_to="100", unit_price="5"), cat.Tier(unit_price="4")]
                            ),
                        ),
                    ),
                    cat.Charge(
                        id="messages",
                        name="Messages (per 1,000)",
                        price=cat.Price(
                            currency="JPY",
                            meter_id=meters["messages"],
                            package=cat.PackagePrice(package_size="1000", package_price="1500"),
                        ),
                    ),
                ],
            )
        )
    ).plan_version


def assume(meter_id, quantity, period=0):
    return pb.UsageAssumption(meter_id=meter_id, quantity=quantity, period=period)


def usd_quote(version, meters, external_id):
    """A prospect's year from 15 September: negotiated calls, storage with 20 GB included, 10 % off, a minimum
    of 900.00, 250.00 prepaid, and a launch ramp of three months at 50 % off."""
    return pb.Quote(
        prospect=cat.Customer(
            external_id=external_id, name="Initech", tax_rate_percent="8.5", email="ap@initech.test"
        ),
        currency="USD",
        plan_version_id=version.id,
        start_at=stamp(datetime(2026, 9, 15, tzinfo=UTC)),
        billing_cycle=cat.BILLING_CYCLE_MONTHLY,
        term_months=12,
        valid_until=valid_for(),
        lines=[
            pb.QuoteLine(
                charge_id="calls",
                price=cat.Price(
                    currency="USD",
                    graduated=cat.GraduatedPrice(
                        tiers=[cat.Tier(up_to="10000", unit_price="0.009"), cat.Tier(unit_price="0.006")]
                    ),
                ),
            ),
            pb.QuoteLine(charge_id="storage", included_quantity="20"),
        ],
        discounts=[cat.Discount(kind=cat.DISCOUNT_KIND_PERCENTAGE, value="10", description="Volume deal")],
        minimum_commitment=money("900.00", "USD"),
        prepaid_credit=money("250.00", "USD"),
        ramps=[
            pb.QuoteRamp(
                start_month=0,
                months=3,
                description="Launch",
                discounts=[
                    cat.Discount(
                        kind=cat.DISCOUNT_KIND_PERCENTAGE, value="50", description="Launch: 50 % off"
                    )
                ],
            )
        ],
        usage_assumptions=[
            assume(meters["calls"], "23456"),
            assume(meters["storage"], "150.5"),
            assume(meters["messages"], "2001"),
        ],
    )


def jpy_quote(version, meters, customer_id):
    """An existing customer's six months from 1 September, messages at a negotiated 1,100 yen."""
    return pb.Quote(
        customer_id=customer_id,
        currency="JPY",
        plan_version_id=version.id,
        start_at=stamp(SEPTEMBER),
        billing_cycle=cat.BILLING_CYCLE_MONTHLY,
        term_months=6,
        valid_until=valid_for(),
        lines=[
            pb.QuoteLine(
                charge_id="messages",
                price=cat.Price(
                    currency="JPY", package=cat.PackagePrice(package_size="1000", package_price="1100")
                ),
            )
        ],
        usage_assumptions=[
            assume(meters["calls"], "12345", period=1),
            assume(meters["calls"], "99999"),
            assume(meters["storage"], "80.5"),
            assume(meters["messages"], "999"),
        ],
    )


def accept_quote(quotes, draft):
    quote = quotes.CreateQuote(pb.CreateQuoteRequest(quote=draft)).quote
    quote = quotes.SubmitQuote(pb.SubmitQuoteRequest(quote_id=quote.id, version=quote.version)).quote
    if quote.status == pb.QUOTE_STATUS_SUBMITTED:
        quote = quotes.ApproveQuote(
            pb.ApproveQuoteRequest(quote_id=quote.id, version=quote.version, comment="launch pricing agreed")
        ).quote
    assert quote.status == pb.QUOTE_STATUS_APPROVED
    return quotes.AcceptQuote(
        pb.AcceptQuoteRequest(
            quote_id=quote.id,
            version=quote.version,
            accepted_by="Pat Signer",
            accepted_by_email="pat@example.test",
        )
    ).quote


def send_usage(stubs, meters, customer, batch, *, calls, storage, messages):
    """September usage through ingestion: a few events per meter whose values sum to the quantities."""
    moment = int(datetime(2026, 9, 20, 12, tzinfo=UTC).timestamp() * 1000)
    events = []
    for kind, prop, total in (
        ("api_calls", "count", calls),
        ("storage", "gb", storage),
        ("messages", "count", messages),
    ):
        half = Decimal(total) // 2
        rest = Decimal(total) - half
        for index, value in enumerate((str(half), str(rest))):
            events.append(
                events_pb2.UsageEvent(
                    event_id=f"{batch}-{kind}-{index}",
                    customer=customer,
                    event_type=kind,
                    timestamp_ms=moment + index,
                    properties={prop: value},
                )
            )
    reply = stubs["ingestion"].Ingest(ing.IngestRequest(batch_id=batch, events=events, backfill=True))
    assert (reply.accepted_count, list(reply.rejected)) == (len(events), [])
    expected = {meters["calls"]: calls, meters["storage"]: storage, meters["messages"]: messages}
    september = period_pb2.Period(start=stamp(SEPTEMBER), end=stamp(OCTOBER))

    def counted():
        return all(
            sum(
                Decimal(b.quantity)
                for b in stubs["metering"]
                .GetUsage(met.GetUsageRequest(customer=customer, meter_id=meter, period=september))
                .buckets
            )
            == Decimal(quantity)
            for meter, quantity in expected.items()
        )

    wait_for(counted, f"{customer}'s September usage in metering")


def invoices_of(stubs, customer_id, subscription_id):
    listed = stubs["invoicing"].ListInvoices(inv.ListInvoicesRequest(customer_id=customer_id)).invoices
    found = [
        stubs["invoicing"].GetInvoice(inv.GetInvoiceRequest(invoice_id=i.id)).invoice
        for i in listed
        if i.subscription_id == subscription_id
    ]
    return sorted(found, key=lambda i: (i.period.start.ToDatetime(), i.number))


def lines(document):
    """What is printed on the invoice (or estimated for it): kind, description, amount, tax."""
    return [
        (line.kind, line.description, line.amount.amount, line.tax.amount)
        for line in document.lines
        if line.kind != inv.INVOICE_LINE_KIND_CREDIT
    ]


def totals(document):
    return (
        document.subtotal.amount,
        document.tax.amount,
        document.total.amount,
        document.credits_applied.amount,
        document.amount_due.amount,
    )


def test_the_first_invoices_equal_the_quotes_estimates_to_the_cent(stack):
    stubs, meters = stack
    catalog, quotes = stubs["catalog"], stubs["quotes"]
    usd = accept_quote(quotes, usd_quote(usd_plan(catalog, meters), meters, "initech"))
    tanaka = customer(catalog, "tanaka", "JPY", tax="10")
    jpy = accept_quote(quotes, jpy_quote(jpy_plan(catalog, meters), meters, tanaka.id))
    usd_subscription = subscription_of(quotes, usd.id)
    jpy_subscription = subscription_of(quotes, jpy.id)

    send_usage(stubs, meters, "initech", "initech-sep", calls="23456", storage="150.5", messages="2001")
    send_usage(stubs, meters, "tanaka", "tanaka-sep", calls="12345", storage="80.5", messages="999")
    run = stubs["invoicing"].RunBilling(inv.RunBillingRequest(as_of=stamp(AFTER_SEPTEMBER)))
    assert list(run.failures) == []

    initech = quotes.GetQuote(pb.GetQuoteRequest(quote_id=usd.id)).quote
    usd_estimate = quotes.PriceQuote(pb.PriceQuoteRequest(quote_id=usd.id)).estimate
    opening, september = invoices_of(stubs, initech.customer_id, usd_subscription)
    assert [opening.status, september.status] == [inv.INVOICE_STATUS_FINALIZED] * 2
    estimated_opening, estimated_september = usd_estimate.invoices[:2]
    assert estimated_opening.kind == pb.ESTIMATED_INVOICE_KIND_OPENING
    # The opening invoice bills September's fee from the 15th: 300.00 × 16/30 = 160.00 (invoice-wide discounts
    # come with the period's usage, as invoicing bills them), and the prepaid credit pays it with its tax.
    assert (
        lines(opening)
        == lines(estimated_opening)
        == [(inv.INVOICE_LINE_KIND_RECURRING, "Platform fee", "160.00", "13.60")]
    )
    assert totals(opening) == totals(estimated_opening) == ("160.00", "13.60", "173.60", "173.60", "0.00")
    # September closes in the launch ramp: graduated calls, volume storage after 20 GB included, 3 packages
    # of messages, October's fee in advance, 10 % then 50 % off, trued up to the minimum of 900.00.
    assert lines(september) == lines(estimated_september)
    assert totals(september) == totals(estimated_september)
    assert [(kind, amount) for kind, _, amount, _ in lines(september)] == [
        (inv.INVOICE_LINE_KIND_USAGE, "170.74"),
        (inv.INVOICE_LINE_KIND_USAGE, "52.20"),
        (inv.INVOICE_LINE_KIND_USAGE, "37.50"),
        (inv.INVOICE_LINE_KIND_RECURRING, "300.00"),
        (inv.INVOICE_LINE_KIND_DISCOUNT, "-56.04"),
        (inv.INVOICE_LINE_KIND_DISCOUNT, "-252.20"),
        (inv.INVOICE_LINE_KIND_MINIMUM_TRUE_UP, "647.80"),
    ]
    assert september.subtotal.amount == "900.00"
    # Each invoice refers the customer to the quote its terms came from.
    assert {opening.references.quote_number, september.references.quote_number} == {initech.number}

    jpy_estimate = quotes.PriceQuote(pb.PriceQuoteRequest(quote_id=jpy.id)).estimate
    (first,) = invoices_of(stubs, tanaka.id, jpy_subscription)
    assert lines(first) == lines(jpy_estimate.invoices[0])
    assert totals(first) == totals(jpy_estimate.invoices[0])
    # Half-up to whole yen per line: 3,186.25 → 3,186; 402.5 → 403; the true-up tops 9,688.75 to 20,000.
    assert [amount for _, _, amount, _ in lines(first)] == ["5000", "3186", "403", "1100", "10311"]
    assert first.tax.amount == "2000"


def test_compare_reports_usage_twenty_percent_above_the_assumptions(stack):
    stubs, meters = stack
    catalog, quotes = stubs["catalog"], stubs["quotes"]
    globex = customer(catalog, "globex", "USD", tax="0")
    quote = accept_quote(
        quotes,
        pb.Quote(
            customer_id=globex.id,
            currency="USD",
            plan_version_id=usd_plan(catalog, meters, name="Compare").id,
            start_at=stamp(SEPTEMBER),
            billing_cycle=cat.BILLING_CYCLE_MONTHLY,
            term_months=12,
            valid_until=valid_for(),
            usage_assumptions=[
                assume(meters["calls"], "50000"),
                assume(meters["storage"], "200"),
                assume(meters["messages"], "10000"),
            ],
        ),
    )
    subscription_id = subscription_of(quotes, quote.id)
    send_usage(stubs, meters, "globex", "globex-sep", calls="60000", storage="240", messages="12000")
    run = stubs["invoicing"].RunBilling(inv.RunBillingRequest(as_of=stamp(AFTER_SEPTEMBER)))
    assert list(run.failures) == []

    compared = quotes.CompareQuoteToActual(pb.CompareQuoteToActualRequest(quote_id=quote.id))
    assert compared.subscription_id == subscription_id
    (september,) = compared.periods
    assert september.period_index == 1
    assert sorted(
        (u.assumed_quantity, u.metered_quantity, u.variance, u.variance_percent) for u in september.usage
    ) == [
        ("10000", "12000", "2000", "20.00"),
        ("200", "240", "40", "20.00"),
        ("50000", "60000", "10000", "20.00"),
    ]
    # Estimated: September's fee 300.00 (opening invoice) + October's 300.00 + calls 100.00 + 320.00 + storage
    # 80.00 + 10 packages 125.00 = 1,225.00. Invoiced: the fees, calls 100.00 + 320.00 + 50.00, storage 96.00,
    # 12 packages 150.00 = 1,316.00: 91.00 (7.43 %) over.
    assert (september.estimated_subtotal.amount, september.invoiced_subtotal.amount) == ("1225.00", "1316.00")
    assert (september.variance.amount, september.variance_percent) == ("91.00", "7.43")
    assert len(september.invoice_numbers) == 2
    assert (compared.estimated_total.amount, compared.actual_total.amount, compared.variance.amount) == (
        "1225.00",
        "1316.00",
        "91.00",
    )
