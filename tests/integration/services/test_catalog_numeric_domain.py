"""Catalog at the numeric domain's edges: huge, oddly written or too precise numbers are refused at once
naming the field, and numbers inside the domain are priced exactly (no 28-digit rounding)."""

import time

import grpc
import pytest
from test_catalog_terms import catalog, graduated, stub  # noqa: F401  (fixtures)

from tally.api.catalog.v1 import catalog_service_pb2 as pb
from tally.mesh.errors import field_violations

HUGE = "1E+999999999"


@pytest.fixture
def catalog_stub(request, database_url):
    """An authenticated CatalogService stub on a catalog process (test_catalog_terms' fixtures)."""
    return request.getfixturevalue("stub")


def refused(call):
    started = time.monotonic()
    with pytest.raises(grpc.RpcError) as raised:
        call()
    elapsed = time.monotonic() - started
    return raised.value.code(), field_violations(raised.value), elapsed


@pytest.fixture
def product_id(catalog_stub):
    return catalog_stub.CreateProduct(
        pb.CreateProductRequest(product=pb.Product(name="API calls"))
    ).product.id


def unit(price, product_id=""):
    return pb.Price(
        currency="USD", meter_id="api-calls", product_id=product_id, unit=pb.UnitPrice(unit_price=price)
    )


def test_a_huge_price_tier_or_quantity_is_refused_in_under_100_ms_naming_the_field(catalog_stub, product_id):
    catalog_stub.Rate(
        pb.RateRequest(price=graduated(), quantity="1")
    )  # a warm channel: time the refusal only
    cases = [
        (
            lambda: catalog_stub.CreatePrice(pb.CreatePriceRequest(price=unit(HUGE, product_id))),
            "price.unit.unit_price",
        ),
        (lambda: catalog_stub.Rate(pb.RateRequest(price=unit(HUGE), quantity="1")), "price.unit.unit_price"),
        (lambda: catalog_stub.Rate(pb.RateRequest(price=graduated(), quantity=HUGE)), "usage.quantity"),
    ]
    tiered = graduated()
    tiered.product_id = product_id
    tiered.graduated.tiers[0].up_to = HUGE
    cases.append(
        (
            lambda: catalog_stub.CreatePrice(pb.CreatePriceRequest(price=tiered)),
            "price.graduated.tiers[0].up_to",
        )
    )
    for call, field in cases:
        code, violations, elapsed = refused(call)
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert [v.field for v in violations] == [field]
        assert violations[0].reason.startswith("VALUE_OUT_OF_RANGE")
        assert elapsed < 0.1, f"{field} took {elapsed:.3f} s"


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("1_000", "must be a decimal number"),
        ("\u0661\u0662", "must be a decimal number"),
        ("Infinity", "must be a decimal number"),
        ("1e21", "VALUE_OUT_OF_RANGE"),
        ("0.0000000000000000001", "VALUE_OUT_OF_RANGE"),
        ("1234567890.12345678901234567890123", "VALUE_OUT_OF_RANGE"),
    ],
)
def test_numbers_outside_plain_notation_or_the_domain_are_refused(catalog_stub, product_id, written, reason):
    price = unit(written, product_id)
    code, violations, _ = refused(lambda: catalog_stub.CreatePrice(pb.CreatePriceRequest(price=price)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in violations] == ["price.unit.unit_price"]
    assert reason in violations[0].reason


def test_a_price_times_a_quantity_at_the_domains_edges_is_exact(catalog_stub):
    price = "0.123456789012345678"  # 18 places
    quantity = "123456789012345678901"  # 21 digits
    reply = catalog_stub.Rate(pb.RateRequest(price=unit(price), quantity=quantity))
    # 38 significant digits: the default 28-digit context would have rounded it to 15241578753238836639.20286667.
    assert reply.amount.amount == "15241578753238836639.202866665403139878"
