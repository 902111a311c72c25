"""Insights across real processes: catalog, metering and invoicing as billing runs them, and insights reading
them over the mesh with its own service key, consuming usage batches from JetStream.

The billing helpers (catalog with a fee and a graduated usage charge, usage published as ingestion would) are
the invoicing billing tests' own, so the invoice compared here is exactly the one those tests pin down.
"""

import asyncio
import time
from datetime import UTC, datetime, timedelta

import grpc
import numpy as np
import pytest
from test_invoicing_billing import (
    APRIL,
    MARCH,
    _publish,
    make_catalog,
    make_meter,
    ms,
    run_billing,
    send_calls,
    stamp,
    wait_for_usage,
)

from tally.api.common.v1 import period_pb2
from tally.api.ingestion.v1 import events_pb2
from tally.api.insights.v1 import events_pb2 as insights_events
from tally.api.insights.v1 import insights_service_pb2 as pb
from tally.api.insights.v1 import insights_service_pb2_grpc as pb_grpc
from tally.api.metering.v1 import metering_service_pb2 as met
from tally.api.metering.v1 import metering_service_pb2_grpc as met_grpc
from tally.mesh import jetstream, streams
from tally.mesh.auth import generate_key
from tally.mesh.roles import service_scopes
from tally.testing.databases import sqlite_url
from tally.testing.services import ServiceProcess
from tally.testing.usage_series import Incident, hourly_usage

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def stack(tmp_path, nats_server, database_url):
    billing_token, billing_record = generate_key("service:invoicing", service_scopes("invoicing"))
    insights_token, insights_record = generate_key("service:insights", service_scopes("insights"))
    catalog = ServiceProcess(
        "catalog", "tally.catalog", sqlite_url(tmp_path / "c"), nats_server.url, tmp_path / "catalog"
    )
    metering = ServiceProcess(
        "metering",
        "tally.metering",
        sqlite_url(tmp_path / "m"),
        nats_server.url,
        tmp_path / "metering",
        env={"TALLY_METERING_CLOSE_MARGIN_SECONDS": "0"},
    )
    for peer, folder in ((catalog, "c"), (metering, "m")):
        (tmp_path / folder).mkdir()
        peer.keyring.add(billing_record)
        peer.keyring.add(insights_record)
        peer.start()
    (tmp_path / "i").mkdir()
    invoicing = ServiceProcess(
        "invoicing",
        "tally.invoicing",
        sqlite_url(tmp_path / "i"),
        nats_server.url,
        tmp_path / "invoicing",
        env={
            "TALLY_SERVICE_TOKEN": billing_token,
            "TALLY_CATALOG_TARGET": catalog.target,
            "TALLY_METERING_TARGET": metering.target,
        },
    )
    invoicing.keyring.add(billing_record)
    invoicing.keyring.add(insights_record)
    invoicing.start()
    insights = ServiceProcess(
        "insights",
        "tally.insights",
        database_url,
        nats_server.url,
        tmp_path / "insights",
        env={
            "TALLY_SERVICE_TOKEN": insights_token,
            "TALLY_CATALOG_TARGET": catalog.target,
            "TALLY_METERING_TARGET": metering.target,
            "TALLY_INVOICING_TARGET": invoicing.target,
            "TALLY_INSIGHTS_SCAN_SECONDS": "0",
        },
    )
    insights.start()
    yield catalog, metering, invoicing, insights
    for service in (insights, invoicing, metering, catalog):
        service.kill()


def insights_stub(insights):
    channel = grpc.insecure_channel(insights.target)
    return channel, pb_grpc.InsightsServiceStub(channel)


def send_events(metering, batch_id, customer, moments):
    events = [
        events_pb2.UsageEvent(
            event_id=f"{batch_id}-{i}", customer=customer, event_type="call", timestamp_ms=ms(m)
        )
        for i, m in enumerate(moments)
    ]
    asyncio.run(_publish(metering.nats_url, batch_id, events))


def wait_for_count(metering, meter_id, customer, start, end, expected, timeout_s=60.0):
    """Until metering has counted ``expected`` events of ``customer`` in [start, end) (a loaded machine may
    take a while to store a few thousand events)."""
    deadline = datetime.now(UTC) + timedelta(seconds=timeout_s)
    with grpc.insecure_channel(metering.target) as channel:
        stub = met_grpc.MeteringServiceStub(channel)
        while True:
            reply = stub.GetUsage(
                met.GetUsageRequest(
                    customer=customer,
                    meter_id=meter_id,
                    period=period_pb2.Period(start=stamp(start), end=stamp(end)),
                ),
                metadata=metering.metadata(),
            )
            total = sum(int(b.quantity) for b in reply.buckets)
            if total == expected:
                return
            assert datetime.now(UTC) < deadline, f"metering counted {total} of {expected}"
            time.sleep(0.2)


def test_a_ten_percent_price_rise_reproduces_the_invoice_then_adds_exactly_ten_percent(stack):
    catalog, metering, invoicing, insights = stack
    meter_id = make_meter(metering)
    _, customer, subscription = make_catalog(catalog, meter_id)
    send_calls(metering, "b1", [datetime(2026, 3, day, 12, tzinfo=UTC) for day in range(1, 13)])
    wait_for_usage(metering, meter_id, MARCH, APRIL, 12)
    billed = run_billing(invoicing, datetime(2026, 4, 1, 2, tzinfo=UTC))
    assert billed.invoices_finalized == 1

    channel, stub = insights_stub(insights)
    with channel:
        reply = stub.SimulatePricing(
            pb.SimulatePricingRequest(
                period_containing=stamp(datetime(2026, 3, 15, tzinfo=UTC)),
                changes=[pb.ChargeChange(charge_id="calls", scale_percent="10")],
            ),
            metadata=insights.metadata(),
            timeout=60,
        )
    [one] = reply.subscriptions
    assert one.subscription_id == subscription.id
    assert (one.customer, one.customer_id) == ("acme", customer.id)
    # The invoice billed 12 calls as 5 × 10.00 + 5 × 8.00 + 2 × 6.00 = 102.00: re-rated, the same to the cent.
    assert one.invoice_id
    assert (one.invoiced_usage.amount, one.current_usage.amount) == ("102.00", "102.00")
    # Fee 49.00 + usage 102.00 now; +10 % on every tier: 5 × 11.00 + 5 × 8.80 + 2 × 6.60 = 112.20.
    assert (one.current.amount, one.candidate.amount, one.delta.amount) == ("151.00", "161.20", "10.20")
    assert one.delta_percent == "6.75"
    assert (reply.paying_more, reply.paying_less, reply.unchanged) == (1, 0, 0)
    assert [(m.amount, m.currency) for m in reply.delta_totals] == [("10.20", "USD")]
    assert reply.distribution.median_percent == "6.75"

    # Without a change in price, the simulation is the invoice itself: zero delta.
    channel, stub = insights_stub(insights)
    with channel:
        same = stub.SimulatePricing(
            pb.SimulatePricingRequest(
                period_containing=stamp(datetime(2026, 3, 15, tzinfo=UTC)),
                changes=[pb.ChargeChange(charge_id="calls", scale_percent="0")],
            ),
            metadata=insights.metadata(),
            timeout=60,
        )
    assert [(s.current.amount, s.delta.amount) for s in same.subscriptions] == [("151.00", "0.00")]
    assert same.unchanged == 1


def test_a_simulation_names_a_charge_no_subscription_has(stack):
    catalog, metering, _, insights = stack
    make_catalog(catalog, make_meter(metering))
    with grpc.insecure_channel(insights.target) as channel, pytest.raises(grpc.RpcError) as caught:
        pb_grpc.InsightsServiceStub(channel).SimulatePricing(
            pb.SimulatePricingRequest(
                period_containing=stamp(datetime(2026, 3, 15, tzinfo=UTC)),
                changes=[pb.ChargeChange(charge_id="nope", scale_percent="10")],
            ),
            metadata=insights.metadata(),
            timeout=60,
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "changes[0].charge_id" in caught.value.details()


def test_leakage_shows_an_unknown_customer_and_an_idle_subscription_with_their_amounts(stack):
    catalog, metering, _, insights = stack
    meter_id = make_meter(metering)
    _, _, subscription = make_catalog(catalog, meter_id)
    # acme used the API through March and then stopped; nobody-at-all, unknown to catalog, called 5 times.
    send_calls(metering, "b1", [datetime(2026, 3, day, 12, tzinfo=UTC) for day in range(1, 29)])
    send_events(metering, "b2", "nobody-at-all", [datetime(2026, 4, 3, h, tzinfo=UTC) for h in range(5)])
    wait_for_usage(metering, meter_id, MARCH, APRIL, 28)

    channel, stub = insights_stub(insights)
    with channel:
        deadline = datetime.now(UTC) + timedelta(seconds=30)
        while True:  # the usage consumer projects the batches; wait for both customers
            report = stub.GetLeakageReport(
                pb.GetLeakageReportRequest(as_of=stamp(datetime(2026, 4, 8, tzinfo=UTC))),
                metadata=insights.metadata(),
                timeout=60,
            )
            kinds = {f.kind for f in report.findings}
            if {pb.LEAKAGE_KIND_UNKNOWN_CUSTOMER, pb.LEAKAGE_KIND_IDLE_USAGE_CHARGE} <= kinds:
                break
            assert datetime.now(UTC) < deadline, report
    [unknown] = [f for f in report.findings if f.kind == pb.LEAKAGE_KIND_UNKNOWN_CUSTOMER]
    assert (unknown.customer, unknown.meter_id, unknown.quantity) == ("nobody-at-all", meter_id, "5")
    # Five calls at the plan's graduated price: 5 × 10.00.
    assert (unknown.amount_at_stake.amount, unknown.amount_at_stake.currency) == ("50.00", "USD")
    [idle] = [f for f in report.findings if f.kind == pb.LEAKAGE_KIND_IDLE_USAGE_CHARGE]
    assert (idle.customer, idle.subscription_id) == ("acme", subscription.id)
    # 25 calls in the 28 days before 1 April (4–28 March): 6.25 usual in 7 days, at the graduated price
    # 5 × 10.00 + 1.25 × 8.00 = 60.00.
    assert (idle.quantity, idle.amount_at_stake.amount) == ("6.25", "60.00")
    assert any("ingestion is not configured" in skipped for skipped in report.skipped_checks)


def test_a_scan_finds_a_spike_lists_it_and_publishes_anomaly_detected(stack):
    _, metering, _, insights = stack
    meter_id = make_meter(metering)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    series = hourly_usage(np.random.default_rng(3), 20, 15.0, incidents=(Incident("SPIKE", 17 * 24 + 14, 1),))
    moments = []
    for hour, count in enumerate(series.values.astype(int).tolist()):
        moments.extend(start + timedelta(hours=hour, seconds=s) for s in range(count))
    for first in range(0, len(moments), 5000):
        send_events(metering, f"g{first}", "gamma", moments[first : first + 5000])

    wait_for_count(metering, meter_id, "gamma", start, start + timedelta(days=20), len(moments))

    channel, stub = insights_stub(insights)
    with channel:
        deadline = datetime.now(UTC) + timedelta(seconds=60)
        while True:  # until the usage consumer has projected gamma: then one scan judges all of it
            scan = stub.ScanUsage(
                pb.ScanUsageRequest(as_of=stamp(start + timedelta(days=20))),
                metadata=insights.metadata(),
                timeout=120,
            )
            if scan.series_scanned:
                break
            assert datetime.now(UTC) < deadline, "the usage consumer never projected gamma"
            time.sleep(0.2)
        assert scan.series_scanned == 2  # hourly and daily, one meter
        found = stub.ListAnomalies(pb.ListAnomaliesRequest(customer="gamma"), metadata=insights.metadata())
    spikes = [a for a in found.anomalies if a.kind == pb.ANOMALY_KIND_SPIKE]
    assert [(a.granularity, a.period.start.ToDatetime(tzinfo=UTC)) for a in spikes] == [
        (pb.GRANULARITY_HOURLY, start + timedelta(hours=17 * 24 + 14))
    ]
    assert "spiked" in spikes[0].reason and "gamma" in spikes[0].reason

    async def published() -> list[insights_events.AnomalyDetected]:
        nc = await jetstream.connect(insights.nats_url, name="test-insights")
        try:
            sub = await nc.jetstream().pull_subscribe(streams.ANOMALY_DETECTED, stream=streams.INSIGHTS.name)
            msgs = await sub.fetch(10, timeout=10)
            return [insights_events.AnomalyDetected.FromString(m.data) for m in msgs]
        finally:
            await nc.close()

    events = asyncio.run(published())
    assert spikes[0].id in {e.anomaly.id for e in events}


def graduated(quantity):
    """The test plan's usage price: 5 × 10.00, 5 × 8.00, then 6.00 each."""
    from decimal import Decimal

    q = Decimal(quantity)
    tiers = ((Decimal(5), Decimal("10.00")), (Decimal(5), Decimal("8.00")), (None, Decimal("6.00")))
    total, left = Decimal(0), q
    for size, price in tiers:
        units = left if size is None else min(left, size)
        total += units * price
        left -= units
    return total.quantize(Decimal("0.01"))


def test_the_invoice_forecast_stands_beside_preview_invoice_priced_by_the_plan(stack):
    from decimal import Decimal

    from test_invoicing_billing import grant_credit

    catalog, metering, _, insights = stack
    meter_id = make_meter(metering)
    _, customer, subscription = make_catalog(catalog, meter_id)
    grant_credit(catalog, customer.id, "300.00")
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    rng = np.random.default_rng(14)
    moments = [
        today - timedelta(days=d) + timedelta(hours=1 + i)
        for d in range(1, 50)
        for i in range(int(rng.poisson(4)))
    ]
    send_calls(metering, "f1", moments)
    wait_for_count(metering, meter_id, "acme", today - timedelta(days=50), today, len(moments))

    with grpc.insecure_channel(insights.target) as channel:
        reply = pb_grpc.InsightsServiceStub(channel).ForecastInvoice(
            pb.ForecastInvoiceRequest(subscription_id=subscription.id),
            metadata=insights.metadata(),
            timeout=60,
        )
    assert reply.preview.subscription_id == subscription.id
    [calls] = reply.charges
    month_start = today.replace(day=1)
    so_far = sum(1 for m in moments if m >= month_start)
    assert (calls.charge_id, calls.meter_id, calls.quantity_so_far) == ("calls", meter_id, str(so_far))
    expected = Decimal(calls.quantity_expected)
    days_in_month = ((month_start + timedelta(days=32)).replace(day=1) - month_start).days
    # About four calls a day for the whole month.
    assert 2.5 * days_in_month <= expected <= 6 * days_in_month
    assert Decimal(calls.quantity_low) <= expected <= Decimal(calls.quantity_high)
    # Each amount is the plan's own price of the quantity beside it, to the cent.
    assert calls.amount.expected.amount == str(graduated(expected))
    assert calls.amount.low.amount == str(graduated(calls.quantity_low))
    assert reply.subtotal.expected.amount == str(graduated(expected) + Decimal("49.00"))
    tax = (graduated(expected) * Decimal("0.2")).quantize(Decimal("0.01")) + Decimal("9.80")
    assert reply.total.expected.amount == str(graduated(expected) + Decimal("49.00") + tax)
    assert (
        Decimal(reply.total.low.amount)
        <= Decimal(reply.total.expected.amount)
        <= Decimal(reply.total.high.amount)
    )
    # 300.00 of credit against a forecast of several hundred a month runs out within the next two months.
    assert reply.credit_balance.amount == "300.00"
    runs_out = reply.credit_runs_out_at.ToDatetime(tzinfo=UTC)
    assert today <= runs_out <= today + timedelta(days=62)

    with grpc.insecure_channel(insights.target) as channel:
        revenue = pb_grpc.InsightsServiceStub(channel).ForecastRevenue(
            pb.ForecastRevenueRequest(months=2), metadata=insights.metadata(), timeout=60
        )
    [acme] = revenue.customers
    assert acme.customer == "acme" and len(acme.months) == 2
    for month in acme.months:
        low, mid, high = (
            Decimal(m.amount) for m in (month.revenue.low, month.revenue.expected, month.revenue.high)
        )
        assert Decimal("49.00") < low <= mid <= high
    assert [t.expected[0].amount for t in revenue.totals] == [m.revenue.expected.amount for m in acme.months]
