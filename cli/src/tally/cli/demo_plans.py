"""What the demo bills: a usage plan on the demo's meters in USD and in whole yen, each customer subscribed to it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import grpc.aio

from tally.api.catalog.v1 import catalog_service_pb2 as pb
from tally.api.catalog.v1 import catalog_service_pb2_grpc as pb_grpc
from tally.api.common.v1 import money_pb2
from tally.cli.demo_catalog import DemoCatalog
from tally.mesh.wire import timestamp_to_wire


@dataclass(frozen=True)
class Rates:
    """The usage plan's amounts in one currency (decimal strings in that currency)."""

    platform_fee: str
    per_1000_calls: str
    egress_gb: tuple[str, str, str]
    """Per GB from eu-west, from us-east, from anywhere else."""
    active_user: tuple[str, str]
    """Per active user up to 100, then beyond."""
    seat: str
    peak_connection: tuple[str, str]
    """Per connection when the peak is up to 1,000, when it is more."""


RATES = {
    "USD": Rates("49.00", "0.50", ("0.02", "0.03", "0.05"), ("1.00", "0.50"), "8.00", ("0.02", "0.01")),
    "JPY": Rates("7000", "75", ("3", "4", "7"), ("150", "75"), "1200", ("3", "2")),
}
"""Yen amounts are whole yen: JPY has no minor unit."""

CREDIT_GRANTS = {"acme": money_pb2.Money(amount="100.00", currency="USD")}
"""Promotional credit, burned on the first invoice after tax."""


@dataclass(frozen=True)
class DemoSubscription:
    customer: pb.Customer
    subscription: pb.Subscription


def usage_charges(rates: Rates, meter_ids: dict[str, str]) -> list[pb.Charge]:
    """One charge per demo meter plus a platform fee billed in arrears."""
    return [
        pb.Charge(
            id="platform",
            name="Platform fee",
            price=pb.Price(
                flat=pb.FlatPrice(
                    amount=rates.platform_fee, timing=pb.BILLING_TIMING_IN_ARREARS, prorate=True
                )
            ),
        ),
        pb.Charge(
            id="api-calls",
            name="API calls (per 1,000)",
            price=pb.Price(
                meter_id=meter_ids["api_calls"],
                package=pb.PackagePrice(package_size="1000", package_price=rates.per_1000_calls),
            ),
        ),
        pb.Charge(
            id="egress",
            name="Egress (GB)",
            price=pb.Price(
                meter_id=meter_ids["egress_gb"],
                matrix=pb.MatrixPrice(
                    dimensions=["region"],
                    cells=[
                        pb.MatrixCell(dimension_values=["eu-west"], unit_price=rates.egress_gb[0]),
                        pb.MatrixCell(dimension_values=["us-east"], unit_price=rates.egress_gb[1]),
                    ],
                    default_unit_price=rates.egress_gb[2],
                ),
            ),
        ),
        pb.Charge(
            id="active-users",
            name="Active users",
            price=pb.Price(
                meter_id=meter_ids["active_users"],
                graduated=pb.GraduatedPrice(
                    tiers=[
                        pb.Tier(up_to="100", unit_price=rates.active_user[0]),
                        pb.Tier(unit_price=rates.active_user[1]),
                    ]
                ),
            ),
        ),
        pb.Charge(
            id="seats",
            name="Seats (time-weighted)",
            price=pb.Price(meter_id=meter_ids["seats"], unit=pb.UnitPrice(unit_price=rates.seat)),
        ),
        pb.Charge(
            id="peak-connections",
            name="Peak connections",
            price=pb.Price(
                meter_id=meter_ids["peak_connections"],
                volume=pb.VolumePrice(
                    tiers=[
                        pb.Tier(up_to="1000", unit_price=rates.peak_connection[0]),
                        pb.Tier(unit_price=rates.peak_connection[1]),
                    ]
                ),
            ),
        ),
    ]


async def subscribe_customers(
    channel: grpc.aio.Channel, catalog: DemoCatalog, meter_ids: dict[str, str], start: datetime
) -> list[DemoSubscription]:
    """Publishes a usage plan per customer currency and subscribes each customer monthly from ``start``."""
    stub = pb_grpc.CatalogServiceStub(channel)
    plans: dict[str, pb.Plan] = {}
    versions: dict[str, pb.PlanVersion] = {}
    made = []
    for customer in catalog.customers:
        currency = customer.currency
        if currency not in versions:
            plan = pb.Plan(name=f"Usage ({currency})")
            plans[currency] = (await stub.CreatePlan(pb.CreatePlanRequest(plan=plan))).plan
            charges = usage_charges(RATES[currency], meter_ids)
            for charge in charges:
                charge.price.currency = currency
                charge.price.product_id = catalog.product.id
            request = pb.PublishPlanVersionRequest(
                plan_version=pb.PlanVersion(plan_id=plans[currency].id, currency=currency, charges=charges)
            )
            versions[currency] = (await stub.PublishPlanVersion(request)).plan_version
        subscription = pb.Subscription(
            customer_id=customer.id,
            plan_version_id=versions[currency].id,
            start_at=timestamp_to_wire(start),
            billing_cycle=pb.BILLING_CYCLE_MONTHLY,
            billing_anchor=pb.BILLING_ANCHOR_CALENDAR,
        )
        reply = await stub.CreateSubscription(pb.CreateSubscriptionRequest(subscription=subscription))
        made.append(DemoSubscription(customer, reply.subscription))
        line = f"  {customer.external_id:<10} plan {plans[currency].name!r} v{versions[currency].version}"
        line += f" ({len(versions[currency].charges)} charges), monthly from {start:%Y-%m-%d}"
        grant = CREDIT_GRANTS.get(customer.external_id)
        if grant is not None:
            await stub.CreateCreditGrant(
                pb.CreateCreditGrantRequest(
                    credit_grant=pb.CreditGrant(
                        customer_id=customer.id,
                        amount=grant,
                        cost_basis="0.00",
                        effective_at=timestamp_to_wire(start),
                        description="Welcome credit",
                    )
                )
            )
            line += f", {grant.currency} {grant.amount} welcome credit"
        print(line)
    return made
