"""Pricing simulation (pure): candidate terms built from price changes, a period re-rated as an invoice rates it.

Re-rating goes through ``tally.pricing.price_plan`` — the engine invoicing drafts with — and rounds each line
once (R1, ``round_line``), so the re-rated usage lines under the terms in force equal the invoice's own usage
lines to the cent while nothing moved since, and any difference is the candidate's effect alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

from tally.domain.errors import InvalidArgument
from tally.money import round_line
from tally.pricing import (
    Charge,
    ChargeUsage,
    FlatPrice,
    GraduatedPrice,
    LineKind,
    MatrixCell,
    MatrixPrice,
    PackagePrice,
    PercentagePrice,
    PlanVersion,
    Price,
    Tier,
    TieredPackagePrice,
    UnitPrice,
    VolumePrice,
    price_plan,
)

ZERO = Decimal(0)
HUNDRED = Decimal(100)
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class ChargeChange:
    """A change to one charge: a replacement price, or every amount of its price scaled by a percentage."""

    charge_id: str
    price: Price | None = None
    scale_percent: Decimal | None = None


def _scaled_tiers(tiers: tuple[Tier, ...], factor: Decimal) -> tuple[Tier, ...]:
    return tuple(replace(t, unit_price=t.unit_price * factor, flat_fee=t.flat_fee * factor) for t in tiers)


def scale_price(price: Price, factor: Decimal) -> Price:
    """``price`` with every amount it charges multiplied by ``factor`` (quantities and percentages kept; a
    percentage price scales its rate, fees and per-transaction bounds)."""
    if isinstance(price, UnitPrice):
        return replace(price, unit_price=price.unit_price * factor)
    if isinstance(price, GraduatedPrice | VolumePrice | TieredPackagePrice):
        return replace(price, tiers=_scaled_tiers(price.tiers, factor))
    if isinstance(price, PackagePrice):
        return replace(price, package_price=price.package_price * factor)
    if isinstance(price, PercentagePrice):
        return replace(
            price,
            rate_percent=price.rate_percent * factor,
            fixed_fee=price.fixed_fee * factor,
            min_per_transaction=None
            if price.min_per_transaction is None
            else price.min_per_transaction * factor,
            max_per_transaction=None
            if price.max_per_transaction is None
            else price.max_per_transaction * factor,
        )
    if isinstance(price, MatrixPrice):
        return replace(
            price,
            cells=tuple(MatrixCell(c.dimension_values, c.unit_price * factor) for c in price.cells),
            default_unit_price=price.default_unit_price * factor,
        )
    if isinstance(price, FlatPrice):
        return replace(price, amount=price.amount * factor)
    raise InvalidArgument.field("price", f"cannot scale a {type(price).__name__}")


def apply_changes(plan: PlanVersion, changes: Sequence[ChargeChange]) -> PlanVersion:
    """``plan`` with ``changes`` applied to the charges they name (a change naming another charge is ignored:
    not every subscription has every charge). A replacement price must be in the plan's currency."""
    by_id = {change.charge_id: change for change in changes}
    charges: list[Charge] = []
    for charge in plan.charges:
        change = by_id.get(charge.id)
        if change is None:
            charges.append(charge)
            continue
        price = charge.price
        if change.price is not None:
            if change.price.currency != plan.currency:
                raise InvalidArgument.field(
                    f"changes[{change.charge_id!r}].price.currency",
                    f"must be the plan's currency {plan.currency}, got {change.price.currency}",
                )
            price = change.price
        if change.scale_percent is not None:
            price = scale_price(price, 1 + change.scale_percent / HUNDRED)
        charges.append(replace(charge, price=price))
    return replace(plan, charges=tuple(charges))


def with_candidate_charges(plan: PlanVersion, candidate: PlanVersion) -> PlanVersion:
    """``plan`` with each charge that ``candidate`` also has (same id) priced as in ``candidate``."""
    if candidate.currency != plan.currency:
        raise InvalidArgument.field(
            "candidate_plan_version_id", f"is in {candidate.currency}, the subscription in {plan.currency}"
        )
    theirs = {charge.id: charge for charge in candidate.charges}
    return replace(
        plan,
        charges=tuple(
            replace(
                charge, price=theirs[charge.id].price, included_quantity=theirs[charge.id].included_quantity
            )
            if charge.id in theirs
            else charge
            for charge in plan.charges
        ),
    )


@dataclass(frozen=True, slots=True)
class Rerated:
    """A period priced as an invoice prices it: each plan line rounded once."""

    currency: str
    total: Decimal
    """Sum of every rounded plan line (usage, fees for the period, discounts, minimum, maximum)."""
    usage: Decimal
    """Sum of the rounded usage lines alone."""
    usage_by_charge: Mapping[str, Decimal]


def rerate(plan: PlanVersion, usage: Mapping[str, ChargeUsage], recurring: Mapping[str, Decimal]) -> Rerated:
    priced = price_plan(plan, usage, recurring)
    total = ZERO
    usage_total = ZERO
    by_charge: dict[str, Decimal] = {}
    for line in priced.lines:
        amount = round_line(line.amount, plan.currency)
        total += amount
        if line.kind is LineKind.USAGE:
            usage_total += amount
            key = line.charge_id or ""
            by_charge[key] = by_charge.get(key, ZERO) + amount
    return Rerated(plan.currency, total, usage_total, by_charge)


def delta_percent(current: Decimal, candidate: Decimal) -> Decimal | None:
    """(candidate − current) / current in percent, to two places; None when current is zero."""
    if current == 0:
        return None
    return ((candidate - current) * HUNDRED / current).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Distribution:
    minimum: Decimal
    p10: Decimal
    median: Decimal
    p90: Decimal
    maximum: Decimal


def distribution(percents: Sequence[Decimal]) -> Distribution | None:
    """Nearest-rank percentiles of ``percents``; None when there are none."""
    if not percents:
        return None
    ordered = sorted(percents)

    def rank(p: int) -> Decimal:
        index = max(0, -(-p * len(ordered) // 100) - 1)
        return ordered[index]

    return Distribution(ordered[0], rank(10), rank(50), rank(90), ordered[-1])
