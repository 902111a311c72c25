"""The demo's catalog: two billed customers (USD, JPY), a product, one price per model and a plan using them."""

from __future__ import annotations

from dataclasses import dataclass

import grpc.aio

from tally.api.catalog.v1 import catalog_service_pb2 as pb
from tally.api.catalog.v1 import catalog_service_pb2_grpc as pb_grpc

DEADLINE_S = 10.0

_TIERS = [
    pb.Tier(up_to="5", unit_price="10.00"),
    pb.Tier(up_to="10", unit_price="8.00"),
    pb.Tier(unit_price="6.00"),
]

CUSTOMERS = (
    pb.Customer(
        external_id="acme",
        name="Acme Ltd",
        email="billing@acme.example",
        currency="USD",
        billing_address=pb.Address(
            line1="1 Ledger Lane", city="London", postal_code="EC1A 1AA", country="GB"
        ),
        tax_id="GB123456789",
        tax_rate_percent="20",
    ),
    pb.Customer(
        external_id="tanaka",
        name="Tanaka KK",
        email="keiri@tanaka.example",
        currency="JPY",
        billing_address=pb.Address(
            line1="1-2-3 Marunouchi", city="Chiyoda-ku, Tokyo", postal_code="100-0005", country="JP"
        ),
        tax_id="T1234567890123",
        tax_rate_percent="10",
    ),
)
"""The billed customers: usage events name them by external_id."""

SAMPLE_PRICES: list[tuple[str, str, pb.Price]] = [
    ("unit", "Storage GB", pb.Price(meter_id="storage-gb", unit=pb.UnitPrice(unit_price="0.0004"))),
    ("graduated", "API calls", pb.Price(meter_id="api-calls", graduated=pb.GraduatedPrice(tiers=_TIERS))),
    ("volume", "Seats", pb.Price(meter_id="seats", volume=pb.VolumePrice(tiers=_TIERS))),
    (
        "package",
        "Call minutes",
        pb.Price(meter_id="minutes", package=pb.PackagePrice(package_size="60", package_price="10.00")),
    ),
    (
        "percentage",
        "Payments",
        pb.Price(
            meter_id="payment-volume",
            percentage=pb.PercentagePrice(
                rate_percent="2", fixed_fee="0.30", free_events=2, free_amount="100.00"
            ),
        ),
    ),
    (
        "matrix",
        "Compute hours",
        pb.Price(
            meter_id="compute-hours",
            matrix=pb.MatrixPrice(
                dimensions=["cluster", "region"],
                cells=[pb.MatrixCell(dimension_values=["alpha", "west"], unit_price="2.00")],
                default_unit_price="3.00",
            ),
        ),
    ),
    (
        "tiered_package",
        "Messages",
        pb.Price(
            meter_id="messages",
            tiered_package=pb.TieredPackagePrice(
                package_size="10", tiers=[pb.Tier(up_to="10", unit_price="5.00"), pb.Tier(unit_price="4.00")]
            ),
        ),
    ),
    ("flat", "Platform fee", pb.Price(flat=pb.FlatPrice(amount="49.00", prorate=True))),
]
"""(charge id, charge name, price without currency or product) for every model of docs/pricing.md."""


@dataclass(frozen=True)
class DemoCatalog:
    """What ``create_demo_catalog`` made, for the rest of the demo to use."""

    customers: list[pb.Customer]
    product: pb.Product
    prices: list[pb.Price]
    plan: pb.Plan
    plan_version: pb.PlanVersion


async def create_demo_catalog(channel: grpc.aio.Channel, key: str, *, currency: str = "USD") -> DemoCatalog:
    """Creates the demo catalog over gRPC with API key ``key`` and prints a table of it."""
    stub = pb_grpc.CatalogServiceStub(channel)
    metadata = (("authorization", f"Bearer {key}"),)

    async def call(method: str, request: object) -> object:
        return await getattr(stub, method)(request, metadata=metadata, timeout=DEADLINE_S)

    customers = []
    for customer in CUSTOMERS:
        reply = await call("CreateCustomer", pb.CreateCustomerRequest(customer=customer))
        customers.append(reply.customer)  # type: ignore[attr-defined]
    product = (
        await call("CreateProduct", pb.CreateProductRequest(product=pb.Product(name="Tally demo platform")))
    ).product  # type: ignore[attr-defined]
    prices = []
    for _, _, template in SAMPLE_PRICES:
        price = pb.Price()
        price.CopyFrom(template)
        price.currency = currency
        price.product_id = product.id
        prices.append((await call("CreatePrice", pb.CreatePriceRequest(price=price))).price)  # type: ignore[attr-defined]
    plan = (await call("CreatePlan", pb.CreatePlanRequest(plan=pb.Plan(name="Everything")))).plan  # type: ignore[attr-defined]
    version = pb.PlanVersion(
        plan_id=plan.id,
        currency=currency,
        charges=[
            # A charge may name a stored price by id only; catalog fills in the rest.
            pb.Charge(id=charge_id, name=name, price=pb.Price(id=price.id))
            for (charge_id, name, _), price in zip(SAMPLE_PRICES, prices, strict=True)
        ],
    )
    published = (
        await call("PublishPlanVersion", pb.PublishPlanVersionRequest(plan_version=version))
    ).plan_version  # type: ignore[attr-defined]
    print(f"catalog: plan {plan.name!r} v{published.version} ({published.id}), {currency}")
    print(f"  {'charge':<16} {'model':<15} {'meter':<16} price id")
    for charge, price in zip(published.charges, prices, strict=True):
        print(f"  {charge.id:<16} {price.WhichOneof('model'):<15} {price.meter_id or '-':<16} {price.id}")
    for customer in customers:
        where = f"{customer.billing_address.city} {customer.billing_address.country}"
        print(
            f"  customer {customer.external_id:<10} {customer.currency} {customer.id}  "
            f"{customer.name}, {where}, tax {customer.tax_rate_percent}%"
        )
    return DemoCatalog(customers, product, prices, plan, published)
