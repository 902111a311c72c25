"""Plan composition: recurring fees and usage charges priced, then included usage, discounts, minimum and cap.

Order applied, each step seeing the result of the previous ones:
1. charges: every charge in plan order (recurring fees billed on this invoice, usage charges);
2. included usage: a usage charge's included quantity is taken off its quantity (floored at 0) before pricing;
3. charge discounts: in listed order, each on what is left of its charge (a fixed one never below 0);
4. invoice discounts: in listed order, each on the running total (a fixed one never below 0);
5. minimum commitment: spend below it is trued up by a "minimum commitment" line of the difference, whose
   breakdown shows the commitment and what the period billed against it;
6. maximum: spend above the cap is taken off by a negative "maximum" line.
Amounts stay unrounded until ``round_lines`` / ``invoice_totals`` apply R1 per line and R2 per line's tax.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import Enum

from tally.domain.errors import FieldViolation, InvalidArgument
from tally.money import line_tax, round_line
from tally.pricing.models import (
    ZERO,
    BreakdownLine,
    EventValues,
    FlatPrice,
    MatrixPrice,
    MatrixUsage,
    MatrixUsageEntry,
    PercentagePrice,
    Price,
    Usage,
)
from tally.pricing.rating import compile_price, rate_grouped
from tally.pricing.validation import Violations, price_violations

HUNDRED = Decimal(100)

ChargeUsage = Usage | Mapping[str | None, Usage]
"""A charge's usage for the period: one usage, or one per group of a grouped meter (None: the null group)."""


class DiscountKind(Enum):
    """What a discount takes off (DiscountKind on the wire)."""

    PERCENTAGE = "PERCENTAGE"
    FIXED = "FIXED"


class LineKind(Enum):
    """What a plan line is; MAXIMUM maps to the invoice's ADJUSTMENT kind."""

    RECURRING = "RECURRING"
    USAGE = "USAGE"
    DISCOUNT = "DISCOUNT"
    MINIMUM_TRUE_UP = "MINIMUM_TRUE_UP"
    MAXIMUM = "MAXIMUM"


@dataclass(frozen=True, slots=True)
class Charge:
    """One billable component of a plan: a recurring fee (flat price) or a usage charge (metered price)."""

    id: str
    name: str
    """Printed on the invoice line."""
    price: Price
    included_quantity: Decimal = ZERO
    """Units free each period before the price applies."""


@dataclass(frozen=True, slots=True)
class Discount:
    """A percentage (value 10 for 10 %) or fixed amount per period, on one charge or the whole invoice."""

    id: str
    kind: DiscountKind
    value: Decimal
    charge_id: str | None = None
    """The charge it applies to; None for the whole invoice."""
    description: str = ""


@dataclass(frozen=True, slots=True)
class PlanVersion:
    """A plan's terms: charges, optional minimum commitment and maximum per period, discounts."""

    currency: str
    charges: tuple[Charge, ...]
    minimum_commitment: Decimal | None = None
    maximum: Decimal | None = None
    discounts: tuple[Discount, ...] = ()


@dataclass(frozen=True, slots=True)
class PlanLine:
    """One invoice line of a plan: amount unrounded until ``round_lines``."""

    kind: LineKind
    charge_id: str | None
    description: str
    quantity: Decimal | None
    """Usage measured (before included usage), periods billed for a recurring fee, None otherwise."""
    amount: Decimal
    breakdown: tuple[BreakdownLine, ...] = ()


@dataclass(frozen=True, slots=True)
class PlanCharges:
    """The lines of one plan for one billing period, in the order they were applied."""

    currency: str
    lines: tuple[PlanLine, ...]

    @property
    def unrounded_total(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)


@dataclass(frozen=True, slots=True)
class InvoiceTotals:
    """Lines rounded by R1, tax per rounded line by R2, and the sums an invoice prints."""

    lines: tuple[PlanLine, ...]
    taxes: tuple[Decimal, ...]
    subtotal: Decimal
    tax: Decimal
    total: Decimal


def plan_violations(plan: PlanVersion, field_prefix: str = "plan_version") -> list[FieldViolation]:
    """Every rule ``plan`` breaks, its prices' included, each naming its field path."""
    v = Violations()
    v.currency(f"{field_prefix}.currency", plan.currency)
    ids: set[str] = set()
    for index, charge in enumerate(plan.charges):
        at = f"{field_prefix}.charges[{index}]"
        if not charge.id:
            v.add(f"{at}.id", "must not be empty")
        elif charge.id in ids:
            v.add(f"{at}.id", f"duplicates charge id {charge.id!r}")
        ids.add(charge.id)
        v.items.extend(price_violations(charge.price, f"{at}.price"))
        if charge.price.currency != plan.currency:
            v.add(
                f"{at}.price.currency",
                f"must be the plan's currency {plan.currency}, got {charge.price.currency}",
            )
        included_ok = v.decimal(f"{at}.included_quantity", charge.included_quantity)
        if (
            included_ok
            and charge.included_quantity > 0
            and isinstance(charge.price, PercentagePrice | FlatPrice)
        ):
            # A percentage price has its own free allowance; a recurring fee has no quantity to include.
            v.add(f"{at}.included_quantity", f"does not apply to a {charge.price.model} price")
    for index, discount in enumerate(plan.discounts):
        at = f"{field_prefix}.discounts[{index}]"
        value_ok = v.decimal(f"{at}.value", discount.value)
        if value_ok and discount.kind is DiscountKind.PERCENTAGE and discount.value > HUNDRED:
            v.add(f"{at}.value", f"a percentage must be at most 100, got {discount.value}")
        if discount.charge_id is not None and discount.charge_id not in ids:
            v.add(f"{at}.charge_id", f"no charge {discount.charge_id!r} in this plan version")
    low, high = plan.minimum_commitment, plan.maximum
    low_ok = low is not None and v.decimal(f"{field_prefix}.minimum_commitment", low)
    high_ok = high is not None and v.decimal(f"{field_prefix}.maximum", high)
    if low_ok and high_ok and low is not None and high is not None and low > high:
        v.add(f"{field_prefix}.minimum_commitment", f"must not exceed the maximum {high}, got {low}")
    return v.items


def validate_plan(plan: PlanVersion, field_prefix: str = "plan_version") -> None:
    """Raises one InvalidArgument listing every violation of ``plan``."""
    violations = plan_violations(plan, field_prefix)
    if violations:
        raise InvalidArgument(violations)


def _empty_usage(price: Price) -> Usage:
    if isinstance(price, PercentagePrice):
        return EventValues(())
    if isinstance(price, MatrixPrice):
        return MatrixUsage(())
    return ZERO


def _measured(usage: Usage) -> Decimal:
    if isinstance(usage, EventValues):
        return sum(usage.values, ZERO)
    if isinstance(usage, MatrixUsage):
        return sum((entry.quantity for entry in usage.entries), ZERO)
    return usage


def _take_included(usage: Usage, left: Decimal) -> tuple[Usage, Decimal]:
    """``usage`` with up to ``left`` units taken off (never below 0), and what is left to take."""
    if isinstance(usage, MatrixUsage):
        entries = []
        for entry in usage.entries:
            quantity = max(entry.quantity, ZERO)
            taken = min(quantity, left)
            left -= taken
            entries.append(MatrixUsageEntry(entry.dimension_values, quantity - taken))
        return MatrixUsage(tuple(entries)), left
    if isinstance(usage, EventValues):  # percentage prices take no included quantity (validation)
        return usage, left
    quantity = max(usage, ZERO)
    taken = min(quantity, left)
    return quantity - taken, left - taken


def _usage_line(charge: Charge, usage: ChargeUsage) -> PlanLine:
    # Grouped usage takes the included quantity off the groups in the order they are rated.
    groups: dict[str | None, Usage] = dict(usage) if isinstance(usage, Mapping) else {None: usage}
    order = sorted(groups, key=lambda g: (g is not None, g or ""))
    left = charge.included_quantity
    measured = ZERO
    priced: dict[str | None, Usage] = {}
    for group in order:
        measured += _measured(groups[group])
        priced[group], left = _take_included(groups[group], left)
    if isinstance(usage, Mapping):
        rating = rate_grouped(charge.price, priced)
    else:
        rating = compile_price(charge.price).rate(priced[None])
    breakdown = rating.breakdown
    used = charge.included_quantity - left
    if used > 0:
        included = BreakdownLine("Included usage", 0, used, ZERO, ZERO, ZERO)
        breakdown = (included, *breakdown)
    return PlanLine(LineKind.USAGE, charge.id, charge.name, measured, rating.amount, breakdown)


def _discount_line(discount: Discount, base: Decimal, charge_id: str | None) -> PlanLine | None:
    """The negative line ``discount`` takes off ``base``; None when it takes nothing."""
    if base <= 0:
        return None
    if discount.kind is DiscountKind.PERCENTAGE:
        off = base * discount.value / HUNDRED
        label = discount.description or f"Discount {discount.value} %"
    else:
        off = min(discount.value, base)
        label = discount.description or f"Discount {discount.value}"
    if off == 0:
        return None
    return PlanLine(LineKind.DISCOUNT, charge_id, label, None, -off)


def price_plan(
    plan: PlanVersion,
    usage: Mapping[str, ChargeUsage],
    recurring: Mapping[str, Decimal],
) -> PlanCharges:
    """The lines of ``plan`` for one billing period.

    ``usage`` maps a usage charge's id to its usage (a missing charge used nothing). ``recurring`` maps the id
    of each flat fee billed on this invoice to the periods billed (1, or a proration factor; see
    ``tally.pricing.recurring``); a flat fee not in it is not on this invoice.
    """
    validate_plan(plan)
    charges = {charge.id: charge for charge in plan.charges}
    wrong = [
        FieldViolation(f"usage[{key!r}]", "is not a usage charge of this plan version")
        for key in usage
        if key not in charges or isinstance(charges[key].price, FlatPrice)
    ] + [
        FieldViolation(f"recurring[{key!r}]", "is not a recurring fee of this plan version")
        for key in recurring
        if key not in charges or not isinstance(charges[key].price, FlatPrice)
    ]
    if wrong:
        raise InvalidArgument(wrong)

    lines: list[PlanLine] = []
    for charge in plan.charges:
        if isinstance(charge.price, FlatPrice):
            if charge.id not in recurring:
                continue
            periods = recurring[charge.id]
            rating = compile_price(charge.price).rate(periods)
            line = PlanLine(
                LineKind.RECURRING, charge.id, charge.name, periods, rating.amount, rating.breakdown
            )
        else:
            line = _usage_line(charge, usage.get(charge.id, _empty_usage(charge.price)))
        lines.append(line)
        left = line.amount
        for discount in plan.discounts:
            if discount.charge_id == charge.id:
                off = _discount_line(discount, left, charge.id)
                if off is not None:
                    lines.append(off)
                    left += off.amount

    running = sum((line.amount for line in lines), ZERO)
    for discount in plan.discounts:
        if discount.charge_id is None:
            off = _discount_line(discount, running, None)
            if off is not None:
                lines.append(off)
                running += off.amount

    minimum, maximum = plan.minimum_commitment, plan.maximum
    if minimum is not None and running < minimum:
        # The breakdown explains the true-up: the commitment, less what the period billed against it.
        explained = (
            BreakdownLine("Commitment", 0, Decimal(1), minimum, ZERO, minimum),
            BreakdownLine("Billed in the period", 0, Decimal(1), -running, ZERO, -running),
        )
        lines.append(
            PlanLine(LineKind.MINIMUM_TRUE_UP, None, "Minimum commitment", None, minimum - running, explained)
        )
        running = minimum
    if maximum is not None and running > maximum:
        lines.append(PlanLine(LineKind.MAXIMUM, None, "Maximum", None, maximum - running))
    return PlanCharges(plan.currency, tuple(lines))


def round_lines(lines: Sequence[PlanLine], currency: str) -> tuple[PlanLine, ...]:
    """R1: each line's amount rounded half-up to ``currency``'s minor unit; their sum is the invoice subtotal.

    Breakdowns keep full precision: they explain the line, the line amount is what is billed.
    """
    return tuple(replace(line, amount=round_line(line.amount, currency)) for line in lines)


def invoice_totals(
    lines: Sequence[PlanLine], currency: str, tax_rate_percent: Decimal = ZERO
) -> InvoiceTotals:
    """Lines rounded (R1), tax on each rounded line rounded the same way (R2), and their sums."""
    rounded = round_lines(lines, currency)
    taxes = tuple(line_tax(line.amount, tax_rate_percent, currency) for line in rounded)
    subtotal = sum((line.amount for line in rounded), ZERO)
    tax = sum(taxes, ZERO)
    return InvoiceTotals(rounded, taxes, subtotal, tax, subtotal + tax)
