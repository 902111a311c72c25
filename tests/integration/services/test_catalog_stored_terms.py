"""Catalog's stored terms: rows written in the old protobuf-JSON form are rewritten in place as schema 1 and
read back with every term intact; a row the migration does not understand stops it, losing nothing."""

import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy
from google.protobuf import json_format

from tally.api.catalog.v1 import catalog_service_pb2 as pb
from tally.catalog.domain import CatalogPrice, Phase, PlanCharge, PlanVersionTerms, PriceOverride
from tally.catalog.messages import override_to_wire, phase_to_wire
from tally.catalog.price_wire import plan_version_to_wire, price_from_json
from tally.catalog.store import CatalogStore
from tally.persistence.engine import create_engine
from tally.persistence.migrations import current_revision, upgrade
from tally.pricing import Discount, DiscountKind, FlatPrice, PercentagePrice, UnitPrice

MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "catalog" / "migrations"
D = Decimal
T0 = datetime(2026, 1, 1, tzinfo=UTC)
OLD_PRICES = [
    '{"currency": "USD", "unit": {"unitPrice": "0.0004"}}',
    '{"currency": "USD", "graduated": {"tiers": [{"flatFee": "20.00", "unitPrice": "10.00", "upTo": "5"},'
    ' {"unitPrice": "8.00", "upTo": "10"}, {"unitPrice": "6.00"}]}}',
    '{"currency": "USD", "volume": {"tiers": [{"unitPrice": "0.50", "upTo": "10"}, {"unitPrice": "0.40"}]}}',
    '{"currency": "USD", "package": {"freeUnits": "2", "packagePrice": "10.00", "packageSize": "5",'
    ' "rounding": "PACKAGE_ROUNDING_DOWN"}}',
    '{"currency": "USD", "package": {"packagePrice": "10.00", "packageSize": "60"}}',
    '{"currency": "USD", "percentage": {"fixedFee": "0.30", "freeAmount": "100", "freeEvents": "2",'
    ' "maxPerTransaction": "1.00", "minPerTransaction": "0.50", "ratePercent": "2"}}',
    '{"currency": "USD", "percentage": {"maxPerTransaction": "11", "ratePercent": "1.25"}}',
    '{"currency": "USD", "matrix": {"cells": [{"dimensionValues": ["alpha", "west"], "unitPrice": "2"}],'
    ' "defaultUnitPrice": "3", "dimensions": ["cluster", "region"]}}',
    '{"currency": "USD", "tieredPackage": {"packageSize": "10", "tiers": [{"unitPrice": "5", "upTo": "10"},'
    ' {"unitPrice": "4"}]}}',
    '{"currency": "USD", "flat": {"amount": "49.00", "timing": "BILLING_TIMING_IN_ARREARS"}}',
    '{"currency": "USD", "flat": {"amount": "30.00", "prorate": true, "timing": "BILLING_TIMING_IN_ADVANCE"}}',
]
"""Prices as catalog stored them before schema 1: the proto3 JSON of their Price message."""
EVERY_MODEL = [price_from_json(text) for text in OLD_PRICES]


def old_json(message):
    """What catalog wrote before schema 1: the message's proto3 JSON."""
    return json_format.MessageToJson(message, indent=None, sort_keys=True)


def version_terms():
    charges = tuple(
        PlanCharge(
            f"c{index}",
            f"Charge {index}",
            CatalogPrice(price, meter_id="" if isinstance(price, FlatPrice) else f"m{index}"),
            D(0) if isinstance(price, PercentagePrice | FlatPrice) else D(index),
        )
        for index, price in enumerate(EVERY_MODEL)
    )
    # A charge given by a stored price keeps that price's id, product and creation time.
    stored = CatalogPrice(EVERY_MODEL[0], id="price-1", product_id="prod-1", meter_id="m0", created_at=T0)
    charges = (replace(charges[0], price=stored), *charges[1:])
    return PlanVersionTerms(
        id="pv-1",
        plan_id="plan-1",
        version=1,
        currency="USD",
        charges=charges,
        minimum_commitment=D("500.00"),
        maximum=D("10000"),
        discounts=(
            Discount("d1", DiscountKind.PERCENTAGE, D(10), "c1", "Launch"),
            Discount("", DiscountKind.FIXED, D("25.00")),
        ),
        published_at=T0,
    )


OVERRIDES = (
    PriceOverride("c0", CatalogPrice(UnitPrice("USD", D("0.0003"))), D(1000)),
    PriceOverride("c1", included_quantity=D(0)),
    PriceOverride("c2", CatalogPrice(EVERY_MODEL[2], meter_id="other-meter")),
)
PHASES = (
    Phase(
        "", T0, datetime(2026, 4, 1, tzinfo=UTC), (PriceOverride("c0", CatalogPrice(UnitPrice("USD", D(0)))),)
    ),
    Phase("pv-1", datetime(2026, 4, 1, tzinfo=UTC)),
)


def write_old_rows(engine):
    """A catalog at revision 0002 with one row of every kind, as the code of then stored them."""
    terms = version_terms()
    version_json = old_json(
        plan_version_to_wire(replace(terms, id="", plan_id="", version=0, published_at=None))
    )
    subscription_json = old_json(
        pb.Subscription(
            price_overrides=[override_to_wire(o) for o in OVERRIDES],
            phases=[phase_to_wire(p) for p in PHASES],
        )
    )
    with engine.begin() as conn:

        def insert(table, **values):
            columns = ", ".join(values)
            marks = ", ".join(f":{key}" for key in values)
            conn.execute(sqlalchemy.text(f"INSERT INTO {table} ({columns}) VALUES ({marks})"), values)

        insert(
            "customers",
            id="cus-1",
            external_id="acme",
            name="Acme",
            email="",
            currency="USD",
            billing_address="{}",
            tax_id="",
            tax_rate_percent=None,
            tax_exempt=False,
            erp_ids="{}",
            version=1,
            created_at=T0,
            updated_at=T0,
        )
        insert("products", id="prod-1", name="API", description="", created_at=T0)
        for index, price in enumerate(EVERY_MODEL):
            insert(
                "prices",
                id=f"price-{index}",
                product_id="prod-1",
                currency="USD",
                meter_id="",
                model=price.model,
                terms=OLD_PRICES[index],
                created_at=T0,
            )
        insert("plans", id="plan-1", name="Growth", description="", latest_version=1, created_at=T0)
        insert(
            "plan_versions",
            id="pv-1",
            plan_id="plan-1",
            version=1,
            currency="USD",
            terms=version_json,
            published_at=T0,
        )
        insert(
            "subscriptions",
            id="sub-1",
            customer_id="cus-1",
            plan_version_id="pv-1",
            start_at=T0,
            billing_cycle="MONTHLY",
            billing_anchor="CALENDAR",
            end_at=None,
            cancel_at=None,
            cancel_reason="",
            terms=subscription_json,
            quote_id=None,
            quote_version=0,
            version=1,
            created_at=T0,
            updated_at=T0,
        )
    return terms


def test_old_rows_are_rewritten_in_place_and_read_back_with_every_term(database_url):
    engine = create_engine(database_url)
    try:
        upgrade(engine, MIGRATIONS, revision="0002")
        expected_version = write_old_rows(engine)
        upgrade(engine, MIGRATIONS)
        assert current_revision(engine) == "0004"

        with CatalogStore(engine).reading() as tx:
            prices = [tx.price(f"price-{index}") for index in range(len(EVERY_MODEL))]
            version = tx.plan_version("pv-1")
            subscription = tx.subscription("sub-1")
        assert [price.model for price in prices] == EVERY_MODEL
        assert version == expected_version
        assert subscription is not None
        assert (subscription.overrides, subscription.phases) == (OVERRIDES, PHASES)
        # Amounts keep their written scale: "10.00" is still "10.00", not 10.
        assert str(version.charges[1].price.model.tiers[0].unit_price) == "10.00"

        with engine.connect() as conn:
            stored = conn.execute(sqlalchemy.text("SELECT terms FROM subscriptions")).scalar_one()
        assert json.loads(stored)["schema"] == 1
    finally:
        engine.dispose()


def test_a_row_the_migration_does_not_understand_stops_it_and_nothing_is_rewritten(database_url):
    engine = create_engine(database_url)
    try:
        upgrade(engine, MIGRATIONS, revision="0002")
        write_old_rows(engine)
        renamed = json.dumps({"currency": "USD", "unit": {"pricePerUnit": "0.0004"}})
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text("UPDATE prices SET terms = :t WHERE id = 'price-0'"), {"t": renamed})
        with pytest.raises(Exception, match=r"prices\[price-0\]\.terms\.unit: unknown key\(s\) pricePerUnit"):
            upgrade(engine, MIGRATIONS)
        assert current_revision(engine) == "0002"
        with engine.connect() as conn:
            untouched = conn.execute(
                sqlalchemy.text("SELECT terms FROM prices WHERE id = 'price-1'")
            ).scalar_one()
        assert "schema" not in json.loads(untouched)
    finally:
        engine.dispose()
