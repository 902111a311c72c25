"""Benchmark: quantities per second the pricing engine rates under a 5-tier graduated price, with a baseline.

The baseline is a plain Decimal multiply-add over the same quantities in the same run, so the ratio stays
meaningful on a noisy machine. Prints one JSON line, then a readable line.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable
from decimal import Decimal

from tally.pricing import GraduatedPrice, Tier, compile_price

PRICE = GraduatedPrice(
    "USD",
    (
        Tier(Decimal(1_000), Decimal("0.10"), Decimal("5.00")),
        Tier(Decimal(10_000), Decimal("0.08")),
        Tier(Decimal(100_000), Decimal("0.06")),
        Tier(Decimal(1_000_000), Decimal("0.04")),
        Tier(None, Decimal("0.02")),
    ),
)


def per_second(
    work: Callable[[list[Decimal]], object], quantities: list[Decimal], repeats: int
) -> list[Decimal]:
    """Rates (quantities per second) of ``repeats`` timed runs of ``work`` over ``quantities``."""
    rates = []
    for _ in range(repeats):
        started = time.perf_counter_ns()
        work(quantities)
        elapsed_ns = max(time.perf_counter_ns() - started, 1)
        rates.append(Decimal(len(quantities)) * Decimal(1_000_000_000) / Decimal(elapsed_ns))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quantities", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    # Spread over all five tiers: up to three decimals, log-uniform-ish magnitudes.
    quantities = [
        Decimal(rng.randrange(0, 10 ** rng.randint(1, 7) * 1000)).scaleb(-3) for _ in range(args.quantities)
    ]
    rater = compile_price(PRICE)  # validated and compiled once, as a rating loop would
    unit_price, fee = Decimal("0.10"), Decimal("5.00")

    def baseline(qs: list[Decimal]) -> None:
        for q in qs:
            q * unit_price + fee

    def full(qs: list[Decimal]) -> None:
        rate = rater.rate
        for q in qs:
            rate(q)

    def amount_only(qs: list[Decimal]) -> None:
        amount = rater.amount
        for q in qs:
            amount(q)

    results = {}
    for name, work in (("baseline", baseline), ("rate", full), ("amount", amount_only)):
        work(quantities[:1000])  # warm caches before timing
        rates = per_second(work, quantities, args.repeats)
        results[name] = {
            "median": int(statistics.median(rates)),
            "min": int(min(rates)),
            "max": int(max(rates)),
        }
    report = {
        "bench": "pricing.graduated_5_tiers",
        "quantities": args.quantities,
        "repeats": args.repeats,
        "per_second": results,
        "rate_vs_baseline": str(
            (Decimal(results["rate"]["median"]) / Decimal(results["baseline"]["median"])).quantize(
                Decimal("0.001")
            )
        ),
        "amount_vs_baseline": str(
            (Decimal(results["amount"]["median"]) / Decimal(results["baseline"]["median"])).quantize(
                Decimal("0.001")
            )
        ),
    }
    print(json.dumps(report))
    r, a, b = results["rate"], results["amount"], results["baseline"]
    print(
        f"graduated 5 tiers: rate() {r['median']:,}/s (min {r['min']:,}, max {r['max']:,}) with breakdown; "
        f"amount() {a['median']:,}/s; baseline multiply-add {b['median']:,}/s; "
        f"rate() is {report['rate_vs_baseline']}× and amount() {report['amount_vs_baseline']}× the baseline"
    )


if __name__ == "__main__":
    main()
