"""Coalescing lookups into batch calls, and reading effective terms into the engine's plan and usage."""

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tally.api.catalog.v1 import catalog_service_pb2 as cat
from tally.api.common.v1 import money_pb2
from tally.api.invoicing.v1 import invoicing_service_pb2 as pb
from tally.domain.errors import FailedPrecondition, InvalidArgument
from tally.invoicing.billing.batching import Batcher
from tally.invoicing.billing.rpcs import controls_from_wire
from tally.invoicing.billing.usage import usage_from_quantities, usage_queries, value_queries
from tally.pricing import EventValues, MatrixUsage, MatrixUsageEntry, Period
from tally.pricing_wire import terms_from_wire

MARCH = datetime(2026, 3, 1, tzinfo=UTC)
APRIL = datetime(2026, 4, 1, tzinfo=UTC)


async def test_concurrent_loads_become_one_batch_call_with_answers_in_order():
    calls = []

    async def fetch(keys):
        calls.append(list(keys))
        return [key * 10 for key in keys]

    batcher = Batcher(fetch, max_size=100, wait=timedelta(milliseconds=10))
    answers = await asyncio.gather(*(batcher.load(n) for n in range(7)))
    assert answers == [0, 10, 20, 30, 40, 50, 60]
    assert calls == [list(range(7))]


async def test_a_full_batch_goes_at_once_and_the_rest_follows():
    calls = []

    async def fetch(keys):
        calls.append(len(keys))
        return list(keys)

    batcher = Batcher(fetch, max_size=3, wait=timedelta(milliseconds=10))
    assert await asyncio.gather(*(batcher.load(n) for n in range(7))) == list(range(7))
    assert calls == [3, 3, 1]


async def test_a_failing_batch_is_retried_key_by_key_so_only_the_bad_key_fails():
    async def fetch(keys):
        if "bad" in keys:
            raise InvalidArgument.field("queries[1]", "unknown meter")
        return [key.upper() for key in keys]

    batcher = Batcher(fetch, max_size=10, wait=timedelta(milliseconds=10))
    results = await asyncio.gather(*(batcher.load(k) for k in ("a", "bad", "c")), return_exceptions=True)
    assert results[0] == "A" and results[2] == "C"
    assert isinstance(results[1], InvalidArgument)


async def test_per_key_errors_from_the_batch_reach_only_their_caller():
    async def fetch(keys):
        return [FailedPrecondition("no such subscription") if key == 2 else key for key in keys]

    batcher = Batcher(fetch, wait=timedelta(milliseconds=1))
    results = await asyncio.gather(*(batcher.load(k) for k in (1, 2, 3)), return_exceptions=True)
    assert results[0] == 1 and results[2] == 3
    assert isinstance(results[1], FailedPrecondition)


def effective_terms(**extra):
    message = cat.EffectiveTerms(
        subscription_id="sub-1",
        customer_id="cus-1",
        currency="USD",
        recurring_fees=[
            cat.Charge(
                id="base", name="Base", price=cat.Price(currency="USD", flat=cat.FlatPrice(amount="10.00"))
            )
        ],
        usage_charges=[
            cat.Charge(
                id="calls",
                name="Calls",
                included_quantity="100",
                price=cat.Price(currency="USD", meter_id="m-calls", unit=cat.UnitPrice(unit_price="0.01")),
            ),
            cat.Charge(
                id="compute",
                name="Compute",
                price=cat.Price(
                    currency="USD",
                    meter_id="m-compute",
                    matrix=cat.MatrixPrice(
                        dimensions=["region"],
                        cells=[cat.MatrixCell(dimension_values=["eu"], unit_price="2.00")],
                        default_unit_price="3.00",
                    ),
                ),
            ),
        ],
        **extra,
    )
    message.billing_period.start.FromDatetime(MARCH)
    message.billing_period.end.FromDatetime(APRIL)
    return message


def test_terms_become_the_engine_plan_with_meters_and_the_period():
    terms = terms_from_wire(
        effective_terms(minimum_commitment=money_pb2.Money(amount="50.00", currency="USD"))
    )
    assert terms.period == Period(MARCH, APRIL)
    assert [charge.id for charge in terms.plan.charges] == ["base", "calls", "compute"]
    assert terms.plan.minimum_commitment == Decimal("50.00")
    assert terms.meters == {"calls": "m-calls", "compute": "m-compute"}
    assert terms.plan.charges[1].included_quantity == Decimal(100)
    queries = usage_queries(terms, "acme", terms.period)
    assert [(q.meter_id, q.group_by) for q in queries] == [("m-calls", ()), ("m-compute", ("region",))]
    usage = usage_from_quantities(
        terms, [{(): Decimal(250)}, {(("region", "eu"),): Decimal(2), (("region", "us"),): Decimal(1)}]
    )
    assert usage["calls"] == Decimal(250)
    assert usage["compute"] == MatrixUsage(
        (MatrixUsageEntry(("eu",), Decimal(2)), MatrixUsageEntry(("us",), Decimal(1)))
    )


def test_unreadable_terms_name_every_bad_field():
    message = effective_terms()
    message.usage_charges[0].price.unit.unit_price = "ten"
    message.usage_charges[0].included_quantity = "lots"
    with pytest.raises(InvalidArgument) as raised:
        terms_from_wire(message)
    assert {v.field for v in raised.value.violations} == {
        "terms.usage_charges[0].price.unit.unit_price",
        "terms.usage_charges[0].included_quantity",
    }


def test_a_percentage_charge_reads_event_values_not_a_quantity():
    message = effective_terms()
    message.usage_charges.append(
        cat.Charge(
            id="payments",
            name="Payments",
            price=cat.Price(
                currency="USD", meter_id="m-pay", percentage=cat.PercentagePrice(rate_percent="2")
            ),
        )
    )
    terms = terms_from_wire(message)
    assert [q.meter_id for q in usage_queries(terms, "acme", terms.period)] == ["m-calls", "m-compute"]
    asks = value_queries(terms, "acme", terms.period)
    assert {charge: (q.customer, q.meter_id, q.period) for charge, q in asks.items()} == {
        "payments": ("acme", "m-pay", terms.period)
    }
    quantities = [{(): Decimal(1)}, {}]
    usage = usage_from_quantities(terms, quantities, {"payments": [Decimal(40), Decimal("70.5")]})
    assert usage["payments"] == EventValues((Decimal(40), Decimal("70.5")))
    with pytest.raises(FailedPrecondition, match="payments"):
        usage_from_quantities(terms, quantities)


def test_billing_controls_are_validated_field_by_field():
    with pytest.raises(InvalidArgument) as raised:
        controls_from_wire(
            pb.BillingControls(
                subscription_id="",
                invoice_threshold=money_pb2.Money(amount="-5", currency="USD"),
                spend_alerts=[money_pb2.Money(amount="10", currency="EUR")],
                usage_alerts=[pb.UsageAlert(charge_id="", threshold="x")],
            )
        )
    fields = {v.field for v in raised.value.violations}
    assert fields == {
        "controls.subscription_id",
        "controls.invoice_threshold.amount",
        "controls.usage_alerts[0].charge_id",
        "controls.usage_alerts[0].threshold",
        "controls",
    }
    good = controls_from_wire(
        pb.BillingControls(
            subscription_id="s",
            invoice_threshold=money_pb2.Money(amount="100.00", currency="USD"),
            usage_alerts=[pb.UsageAlert(charge_id="calls", threshold="1000")],
        )
    )
    assert (good.currency, good.invoice_threshold, good.usage_alerts) == (
        "USD",
        Decimal("100.00"),
        (("calls", Decimal(1000)),),
    )
