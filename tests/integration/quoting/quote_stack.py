"""Helpers for quoting's integration tests: stubs that carry a key, catalog and metering set-ups, waiting."""

import time
from datetime import UTC, datetime

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from tally.api.catalog.v1 import catalog_service_pb2 as cat
from tally.api.common.v1 import money_pb2
from tally.api.metering.v1 import metering_service_pb2 as met
from tally.api.quoting.v1 import quoting_service_pb2 as pb


def stamp(moment):
    value = Timestamp()
    value.FromDatetime(moment)
    return value


def money(amount, currency):
    return money_pb2.Money(amount=amount, currency=currency)


class Stub:
    """A service's stub whose calls carry a key (the admin's by default) and a deadline."""

    def __init__(self, service, stub_type, key=None):
        self._channel = grpc.insecure_channel(service.target)
        self._stub = stub_type(self._channel)
        self._metadata = service.metadata(key)

    def __getattr__(self, name):
        method = getattr(self._stub, name)
        return lambda request: method(request, metadata=self._metadata, timeout=60)

    def close(self):
        self._channel.close()


def start_trusting(services, identities):
    """Start ``services`` in order, each trusting every identity (service key records) given."""
    for service in services:
        for record in identities:
            service.keyring.add(record)
        service.start()


def create_meter(metering, key, event_type, value_property):
    return metering.CreateMeter(
        met.CreateMeterRequest(
            meter=met.Meter(
                key=key,
                name=key,
                event_type=event_type,
                aggregation=met.AGGREGATION_SUM,
                value_property=value_property,
            )
        )
    ).meter.id


def usd_plan(catalog, meters, name="Growth"):
    """Platform fee 300.00 a month in advance (prorated); calls graduated, storage volume, messages by the
    thousand; a minimum commitment of 500.00."""
    plan = catalog.CreatePlan(cat.CreatePlanRequest(plan=cat.Plan(name=name))).plan
    return catalog.PublishPlanVersion(
        cat.PublishPlanVersionRequest(
            plan_version=cat.PlanVersion(
                plan_id=plan.id,
                currency="USD",
                minimum_commitment=money("500.00", "USD"),
                charges=[
                    cat.Charge(
                        id="platform",
                        name="Platform fee",
                        price=cat.Price(
                            currency="USD",
                            flat=cat.FlatPrice(
                                amount="300.00", timing=cat.BILLING_TIMING_IN_ADVANCE, prorate=True
                            ),
                        ),
                    ),
                    cat.Charge(
                        id="calls",
                        name="API calls",
                        price=cat.Price(
                            currency="USD",
                            meter_id=meters["calls"],
                            graduated=cat.GraduatedPrice(
                                tiers=[
                                    cat.Tier(up_to="10000", unit_price="0.010"),
                                    cat.Tier(up_to="50000", unit_price="0.008"),
                                    cat.Tier(unit_price="0.005"),
                                ]
                            ),
                        ),
                    ),
                    cat.Charge(
                        id="storage",
                        name="Storage (GB)",
                        price=cat.Price(
                            currency="USD",
                            meter_id=meters["storage"],
                            volume=cat.VolumePrice(
                                tiers=[
                                    cat.Tier(up_to="100", unit_price="0.50"),
                                    cat.Tier(up_to="1000", unit_price="0.40"),
                                    cat.Tier(unit_price="0.30"),
                                ]
                            ),
                        ),
                    ),
                    cat.Charge(
                        id="messages",
                        name="Messages (per 1,000)",
                        price=cat.Price(
                            currency="USD",
                            meter_id=meters["messages"],
                            package=cat.PackagePrice(package_size="1000", package_price="12.50"),
                        ),
                    ),
                ],
            )
        )
    ).plan_version


def customer(catalog, external_id, currency, tax="20"):
    return catalog.CreateCustomer(
        cat.CreateCustomerRequest(
            customer=cat.Customer(
                external_id=external_id, name=external_id.title(), currency=currency, tax_rate_percent=tax
            )
        )
    ).customer


def wait_for(check, what, timeout_s=30.0):
    """``check()``'s value once truthy; fails naming ``what`` after a generous timeout (a loaded machine)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            assert value, f"{what} not seen within {timeout_s}s"
            return value
        time.sleep(0.2)


def subscription_of(quotes, quote_id):
    """The subscription id catalog made from the accepted quote, once quoting has heard of it."""
    return wait_for(
        lambda: quotes.GetQuote(pb.GetQuoteRequest(quote_id=quote_id)).quote.subscription_id,
        f"the subscription of quote {quote_id}",
    )


def valid_for(days=30):
    return stamp(datetime.fromtimestamp(time.time() + days * 86400, tz=UTC))
