"""Every worked example of docs/pricing.md priced through ``tally rate`` as a user runs it (a subprocess)."""

import argparse
import json
import subprocess
import sys
import time
from decimal import Decimal

import pytest

from tally.cli import rate


def tiers(*rows, flat_fee_first=None):
    out = []
    for index, (up_to, unit_price) in enumerate(rows):
        tier = {"unitPrice": unit_price}
        if up_to is not None:
            tier["upTo"] = up_to
        if index == 0 and flat_fee_first:
            tier["flatFee"] = flat_fee_first
        out.append(tier)
    return out


FIVE_TEN_REST = (("5", "10.00"), ("10", "8.00"), (None, "6.00"))


def graduated(*rows, flat_fee_first=None, currency="USD"):
    return {"currency": currency, "graduated": {"tiers": tiers(*rows, flat_fee_first=flat_fee_first)}}


def volume(*rows, flat_fee_first=None):
    return {"currency": "USD", "volume": {"tiers": tiers(*rows, flat_fee_first=flat_fee_first)}}


def package(size, price, **extra):
    return {"currency": "USD", "package": {"packageSize": size, "packagePrice": price, **extra}}


def percentage(**fields):
    return {"currency": "USD", "percentage": fields}


def run_rate(tmp_path, price, *usage):
    price_file = tmp_path / "price.json"
    price_file.write_text(json.dumps(price))
    return subprocess.run(
        [sys.executable, "-m", "tally.cli", "rate", "--price", str(price_file), *usage],
        capture_output=True,
        text=True,
        timeout=60,
    )


WORKED_EXAMPLES = [
    ("graduated q=12", graduated(*FIVE_TEN_REST), ["--quantity", "12"], "102.00"),
    ("graduated flat fee", graduated(*FIVE_TEN_REST, flat_fee_first="20.00"), ["--quantity", "12"], "122.00"),
    ("volume q=12", volume(*FIVE_TEN_REST), ["--quantity", "12"], "72.00"),
    ("volume q=5", volume(*FIVE_TEN_REST), ["--quantity", "5"], "50.00"),
    ("volume q=6", volume(*FIVE_TEN_REST), ["--quantity", "6"], "48.00"),
    ("volume flat fee q=3", volume(*FIVE_TEN_REST, flat_fee_first="20.00"), ["--quantity", "3"], "50.00"),
    ("graduated 0.50/0.10", graduated(("10", "0.50"), (None, "0.10")), ["--quantity", "25"], "6.50"),
    ("volume 0.50/0.40 q=10", volume(("10", "0.50"), (None, "0.40")), ["--quantity", "10"], "5.00"),
    ("volume 0.50/0.40 q=101", volume(("10", "0.50"), (None, "0.40")), ["--quantity", "101"], "40.40"),
    ("graduated 1000", graduated(("1000", "0.10"), (None, "0.09")), ["--quantity", "1500"], "145.00"),
    (
        "graduated three tiers",
        graduated(("100", "0.15"), ("500", "0.10"), (None, "0.05")),
        ["--quantity", "250"],
        "30.00",
    ),
    (
        "same as volume",
        volume(("100", "0.15"), ("500", "0.10"), (None, "0.05")),
        ["--quantity", "250"],
        "25.00",
    ),
    ("package 10 @ 0.80", package("10", "0.80"), ["--quantity", "25"], "2.40"),
    *[(f"package 5 q={q}", package("5", "10.00"), ["--quantity", q], "10.00") for q in ("1", "3", "5")],
    *[(f"package 5 q={q}", package("5", "10.00"), ["--quantity", q], "20.00") for q in ("6", "7")],
    ("package DOWN", package("5", "10.00", rounding="PACKAGE_ROUNDING_DOWN"), ["--quantity", "7"], "10.00"),
    ("package per started hour", package("60", "10.00"), ["--quantity", "150"], "30.00"),
    (
        "tiered package",
        {
            "currency": "USD",
            "tieredPackage": {"packageSize": "10", "tiers": tiers(("10", "5.00"), (None, "4.00"))},
        },
        ["--quantity", "145"],
        "70.00",
    ),
    (
        "percentage with max",
        percentage(ratePercent="1.25", maxPerTransaction="11.00"),
        ["--values", "100.00,2000.00"],
        "12.25",
    ),
    (
        "percentage free allowance",
        percentage(ratePercent="2", fixedFee="0.30", freeEvents="2", freeAmount="100.00"),
        ["--values", "40,70,50,0"],
        "2.10",
    ),
    (
        "percentage free allowance with min and max",
        percentage(
            ratePercent="2",
            fixedFee="0.30",
            freeEvents="2",
            freeAmount="100.00",
            minPerTransaction="0.50",
            maxPerTransaction="1.00",
        ),
        ["--values", "40,70,50,0"],
        "2.00",
    ),
    (
        "percentage free value only",
        percentage(ratePercent="2", fixedFee="0.30", freeAmount="100.00"),
        ["--values", "60,40,10"],
        "0.50",
    ),
    (
        "negative LATEST priced as 0",
        {"currency": "USD", "unit": {"unitPrice": "3.00"}},
        ["--quantity", "-5"],
        "0.00",
    ),
    (
        "matrix",
        {
            "currency": "USD",
            "matrix": {
                "dimensions": ["cluster", "region"],
                "cells": [{"dimensionValues": ["alpha", "west"], "unitPrice": "2.00"}],
                "defaultUnitPrice": "3.00",
            },
        },
        ["--matrix", "alpha,west=10;beta,east=5"],
        "35.00",
    ),
    (
        "unit before rounding",
        {"currency": "USD", "unit": {"unitPrice": "0.0004"}},
        ["--quantity", "12345"],
        "4.9380",
    ),
    (
        "flat fee, one period",
        {"currency": "USD", "flat": {"amount": "49.00", "prorate": True}},
        ["--quantity", "1"],
        "49.00",
    ),
]


@pytest.mark.parametrize(
    ("price", "usage", "amount"), [e[1:] for e in WORKED_EXAMPLES], ids=[e[0] for e in WORKED_EXAMPLES]
)
def test_tally_rate_prints_the_worked_example_amount(tmp_path, price, usage, amount):
    done = run_rate(tmp_path, price, *usage)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert Decimal(printed["amount"]) == Decimal(amount)
    assert printed["currency"] == "USD"
    assert sum(Decimal(line["subtotal"]) for line in printed["breakdown"]) == Decimal(amount)


def test_the_breakdown_shows_each_tier(tmp_path):
    done = run_rate(tmp_path, graduated(*FIVE_TEN_REST, flat_fee_first="20.00"), "--quantity", "12")
    lines = json.loads(done.stdout)["breakdown"]
    assert [(x["tier_index"], x["units"], x["unit_price"], x["flat_fee"], x["subtotal"]) for x in lines] == [
        (1, "5", "10.00", "20.00", "70.00"),
        (2, "5", "8.00", "0", "40.00"),
        (3, "2", "6.00", "0", "12.00"),
    ]


def test_jpy_keeps_full_precision_too(tmp_path):
    done = run_rate(tmp_path, {"currency": "JPY", "unit": {"unitPrice": "0.0004"}}, "--quantity", "12345")
    assert json.loads(done.stdout) == {
        "amount": "4.9380",
        "currency": "JPY",
        "breakdown": [
            {
                "description": "Per unit",
                "tier_index": 0,
                "units": "12345",
                "unit_price": "0.0004",
                "flat_fee": "0",
                "subtotal": "4.9380",
            }
        ],
    }


@pytest.mark.parametrize(
    ("price", "usage", "message"),
    [
        (
            graduated(("10", "1.00"), ("5", "0.50"), (None, "0.10")),
            ["--quantity", "3"],
            "price.graduated.tiers[1].up_to: must be greater than the previous tier's up_to 10, got 5",
        ),
        (
            {"currency": "USD", "unit": {"unitPrice": "-1"}},
            ["--quantity", "3"],
            "price.unit.unit_price: must not be negative",
        ),
        (
            {"currency": "EURO", "unit": {"unitPrice": "1"}},
            ["--quantity", "3"],
            "price.currency: unknown currency 'EURO'",
        ),
        ({"currency": "USD"}, ["--quantity", "3"], "price.model: exactly one price model must be set"),
        (
            {"currency": "USD", "unit": {"unitPrice": "1"}},
            ["--quantity", "ten"],
            "usage.quantity: must be a decimal number",
        ),
        (
            {"currency": "USD", "unit": {"unitPrice": "1"}},
            ["--values", "1,2"],
            "usage.quantity: a unit price rates a quantity",
        ),
        (
            {"currency": "USD", "unit": {"unitPrice": "1E+999999999"}},
            ["--quantity", "3"],
            "price.unit.unit_price: VALUE_OUT_OF_RANGE: must be below 10^21 in magnitude",
        ),
        (
            {"currency": "USD", "unit": {"unitPrice": "1"}},
            ["--quantity", "1E+999999999"],
            "usage.quantity: VALUE_OUT_OF_RANGE",
        ),
        (
            {"currency": "USD", "unit": {"unitPrice": "1"}},
            ["--quantity", "1_000"],
            "usage.quantity: must be a decimal number",
        ),
        (
            {"currency": "USD", "unit": {"unitPrice": "1"}},
            ["--quantity", "\u0661\u0662"],
            "usage.quantity: must be a decimal number",
        ),
        ({"currency": "USD", "unitt": {}}, ["--quantity", "3"], "price: is not a Price in JSON form"),
        (
            {"currency": "USD", "matrix": {"dimensions": ["c"], "defaultUnitPrice": "1"}},
            ["--matrix", "novalue"],
            "usage.matrix_usage.entries[0]: expected 'value[,value]=quantity'",
        ),
    ],
)
def test_bad_input_exits_2_naming_the_field(tmp_path, price, usage, message):
    done = run_rate(tmp_path, price, *usage)
    assert done.returncode == 2
    assert done.stdout == ""
    assert message in done.stderr


def test_a_missing_price_file_exits_2(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tally.cli",
            "rate",
            "--price",
            str(tmp_path / "nope.json"),
            "--quantity",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "tally rate: price: cannot read" in done.stderr


@pytest.mark.parametrize(
    ("price", "quantity"), [("1E+999999999", "3"), ("1", "1E+999999999"), ("1e+999999", "1e+999999")]
)
def test_an_out_of_range_number_is_refused_in_under_100_ms(tmp_path, capsys, price, quantity):
    """Timed in-process (a subprocess's interpreter start alone takes longer than the bound)."""
    price_file = tmp_path / "price.json"
    price_file.write_text(json.dumps({"currency": "USD", "unit": {"unitPrice": price}}))
    args = argparse.Namespace(price=str(price_file), quantity=quantity, values=None, matrix=None)
    started = time.monotonic()
    assert rate.run(args) == rate.EXIT_BAD_INPUT
    assert time.monotonic() - started < 0.1
    assert "VALUE_OUT_OF_RANGE" in capsys.readouterr().err
