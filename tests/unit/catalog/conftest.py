"""One price of every model (and the variants that store differently), for the catalog's unit tests."""

from decimal import Decimal

import pytest

from tally.pricing import (
    BillingTiming,
    FlatPrice,
    GraduatedPrice,
    MatrixCell,
    MatrixPrice,
    PackagePrice,
    PackageRounding,
    PercentagePrice,
    Tier,
    TieredPackagePrice,
    UnitPrice,
    VolumePrice,
)

D = Decimal
TIERS = (Tier(D(5), D("10.00"), D("20.00")), Tier(D(10), D("8.00")), Tier(None, D("6.00")))
EVERY_MODEL = [
    UnitPrice("USD", D("0.0004")),
    GraduatedPrice("USD", TIERS),
    VolumePrice("EUR", TIERS),
    PackagePrice("USD", D(5), D("10.00"), D(2), PackageRounding.DOWN),
    PercentagePrice("USD", D(2), D("0.30"), D("0.50"), D("1.00"), 2, D(100)),
    PercentagePrice("USD", D("1.25"), max_per_transaction=D(11)),
    MatrixPrice("USD", ("cluster", "region"), (MatrixCell(("alpha", "west"), D(2)),), D(3)),
    TieredPackagePrice("USD", D(10), (Tier(D(10), D(5)), Tier(None, D(4)))),
    FlatPrice("JPY", D(5000), BillingTiming.IN_ARREARS, prorate=False),
]


@pytest.fixture(params=EVERY_MODEL, ids=lambda price: price.model)
def every_price(request):
    """Each price of EVERY_MODEL in turn."""
    return request.param
