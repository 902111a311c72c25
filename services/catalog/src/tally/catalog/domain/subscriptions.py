"""Subscriptions: a customer bound to a plan version, its overrides and phases, billing periods, effective terms.

Which terms are in force at an instant ``at``:
1. the phase containing ``at`` (start ≤ at < end); when several do, the one starting latest, then the one
   ending soonest (the most specific) — so a migration's history phase wins over an older, wider one;
2. otherwise the subscription's own plan version, price overrides, discounts and minimum commitment.
The chosen plan version's charges then take the chosen overrides (a replacement price and/or included
quantity per charge id); the chosen discounts come after the plan version's own; the chosen minimum
commitment, if any, replaces the plan version's. Maximum and currency are the plan version's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum

from tally.catalog.domain.plans import CatalogPrice, PlanCharge, PlanVersionTerms
from tally.domain.errors import FieldViolation, InvalidArgument, NotFound
from tally.money import Money
from tally.pricing import Discount, DiscountKind, FlatPrice, PercentagePrice, PlanVersion, price_violations
from tally.pricing.cycles import cycle_period
from tally.pricing.recurring import Period


class BillingCycle(Enum):
    """How often a subscription is billed; the value is the cycle's length in months."""

    MONTHLY = 1
    QUARTERLY = 3
    ANNUAL = 12


class BillingAnchor(Enum):
    """Where billing periods start: calendar boundaries (UTC) or the subscription's start date."""

    CALENDAR = "CALENDAR"
    ANNIVERSARY = "ANNIVERSARY"


class SubscriptionStatus(Enum):
    SCHEDULED = "SCHEDULED"
    ACTIVE = "ACTIVE"
    CANCELED = "CANCELED"
    ENDED = "ENDED"


@dataclass(frozen=True)
class PriceOverride:
    """A per-customer replacement of one charge's terms (where accepted quote terms land)."""

    charge_id: str
    price: CatalogPrice | None = None
    """None keeps the plan's price."""
    included_quantity: Decimal | None = None
    """None keeps the plan's included quantity."""


@dataclass(frozen=True)
class Phase:
    """A scheduled stretch [start_at, end_at) on given terms: a ramp, a discounted first quarter, history."""

    plan_version_id: str
    start_at: datetime
    end_at: datetime | None = None
    """None for open-ended."""
    overrides: tuple[PriceOverride, ...] = ()
    discounts: tuple[Discount, ...] = ()
    """Added to the phase's plan version's discounts (the subscription's own do not apply in the phase)."""
    minimum_commitment: Money | None = None
    """Replaces the plan version's minimum in the phase; None keeps the plan version's."""


@dataclass(frozen=True)
class Subscription:
    """A stored subscription; every change makes a new ``version`` (the SubscriptionChanged event id)."""

    id: str
    customer_id: str
    plan_version_id: str
    start_at: datetime
    billing_cycle: BillingCycle
    billing_anchor: BillingAnchor = BillingAnchor.CALENDAR
    end_at: datetime | None = None
    cancel_at: datetime | None = None
    cancel_reason: str = ""
    overrides: tuple[PriceOverride, ...] = ()
    phases: tuple[Phase, ...] = ()
    discounts: tuple[Discount, ...] = ()
    """Per-customer discounts (e.g. a quote's), added to the plan version's outside any phase."""
    minimum_commitment: Money | None = None
    """Per-customer minimum per billing period replacing the plan version's outside any phase; None keeps it."""
    quote_id: str = ""
    quote_version: int = 0
    quote_number: str = ""
    purchase_order: str = ""
    """The customer's purchase order number, printed on its invoices."""
    contract_reference: str = ""
    """The contract it is billed under, printed on its invoices."""
    version: int = 1
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def status(self, now: datetime) -> SubscriptionStatus:
        if self.cancel_at is not None and self.cancel_at <= now:
            return SubscriptionStatus.CANCELED
        if self.end_at is not None and self.end_at <= now:
            return SubscriptionStatus.ENDED
        if self.start_at > now:
            return SubscriptionStatus.SCHEDULED
        return SubscriptionStatus.ACTIVE

    def plan_version_ids(self) -> list[str]:
        """Every plan version the subscription refers to, its own first."""
        ids = [self.plan_version_id]
        ids.extend(phase.plan_version_id for phase in self.phases if phase.plan_version_id not in ids)
        return ids


@dataclass(frozen=True)
class EffectiveTerms:
    """A subscription's terms at one instant: phase and plan version resolved, overrides applied."""

    subscription_id: str
    customer_id: str
    plan_version: PlanVersionTerms
    """The version in force, as published (without overrides)."""
    charges: tuple[PlanCharge, ...]
    """The version's charges with overrides applied, in plan order."""
    billing_period: Period
    """The full billing cycle containing the instant; proration against the active span is invoicing's."""
    billing_cycle: BillingCycle
    discounts: tuple[Discount, ...]
    """The plan version's discounts, then the subscription's (or the phase's)."""
    minimum_commitment: Decimal | None
    """The subscription's (or the phase's) minimum if it has one, else the plan version's."""

    @property
    def currency(self) -> str:
        return self.plan_version.currency

    @property
    def maximum(self) -> Decimal | None:
        return self.plan_version.maximum

    @property
    def usage_charges(self) -> tuple[PlanCharge, ...]:
        return tuple(c for c in self.charges if not isinstance(c.price.model, FlatPrice))

    @property
    def recurring_fees(self) -> tuple[PlanCharge, ...]:
        return tuple(c for c in self.charges if isinstance(c.price.model, FlatPrice))

    def to_engine(self) -> PlanVersion:
        """The terms as an engine plan, ready for ``tally.pricing.price_plan``."""
        return replace(
            self.plan_version,
            charges=self.charges,
            discounts=self.discounts,
            minimum_commitment=self.minimum_commitment,
        ).to_engine()


def billing_period(start_at: datetime, cycle: BillingCycle, anchor: BillingAnchor, at: datetime) -> Period:
    """The billing cycle containing ``at`` (the first one if ``at`` is before the start): see
    ``tally.pricing.cycles.cycle_period`` for where CALENDAR and ANNIVERSARY periods start."""
    return cycle_period(start_at, cycle.value, anniversary=anchor is BillingAnchor.ANNIVERSARY, at=at)


def apply_overrides(
    version: PlanVersionTerms, overrides: tuple[PriceOverride, ...]
) -> tuple[PlanCharge, ...]:
    """The version's charges with each override's price and included quantity put in."""
    by_charge = {override.charge_id: override for override in overrides}
    charges = []
    for charge in version.charges:
        override = by_charge.get(charge.id)
        if override is not None:
            price = charge.price
            if override.price is not None:
                # An override replaces the model; the meter stays the charge's unless the override names one.
                price = replace(override.price, meter_id=override.price.meter_id or charge.price.meter_id)
            included = (
                charge.included_quantity if override.included_quantity is None else override.included_quantity
            )
            charge = replace(charge, price=price, included_quantity=included)
        charges.append(charge)
    return tuple(charges)


def _phase_at(phases: tuple[Phase, ...], at: datetime) -> Phase | None:
    containing = [p for p in phases if p.start_at <= at and (p.end_at is None or at < p.end_at)]
    if not containing:
        return None
    far = datetime.max.replace(tzinfo=UTC)
    return min(containing, key=lambda p: (-p.start_at.timestamp(), p.end_at or far))


def resolve_terms(
    subscription: Subscription, versions: Mapping[str, PlanVersionTerms], at: datetime
) -> EffectiveTerms:
    """The terms an invoice must use for ``at``: see the module docstring for the rule."""
    if at < subscription.start_at:
        raise InvalidArgument.field(
            "at", f"is before the subscription starts ({subscription.start_at.isoformat()})"
        )
    phase = _phase_at(subscription.phases, at)
    version_id = subscription.plan_version_id
    overrides, discounts, minimum = (
        subscription.overrides,
        subscription.discounts,
        subscription.minimum_commitment,
    )
    if phase is not None:
        version_id = phase.plan_version_id or subscription.plan_version_id
        overrides, discounts, minimum = phase.overrides, phase.discounts, phase.minimum_commitment
    version = versions.get(version_id)
    if version is None:
        raise NotFound("plan version", version_id, field="subscription.plan_version_id")
    return EffectiveTerms(
        subscription_id=subscription.id,
        customer_id=subscription.customer_id,
        plan_version=version,
        charges=apply_overrides(version, overrides),
        billing_period=billing_period(
            subscription.start_at, subscription.billing_cycle, subscription.billing_anchor, at
        ),
        billing_cycle=subscription.billing_cycle,
        discounts=version.discounts + discounts,
        minimum_commitment=version.minimum_commitment if minimum is None else minimum.amount,
    )


def _negotiated_violations(
    discounts: tuple[Discount, ...], minimum: Money | None, version: PlanVersionTerms, path: str
) -> list[FieldViolation]:
    """What is wrong with a subscription's (or phase's) own discounts and minimum against its plan version."""
    problems: list[FieldViolation] = []
    for index, discount in enumerate(discounts):
        at = f"{path}.discounts[{index}]"
        if not discount.value.is_finite() or discount.value < 0:
            problems.append(FieldViolation(f"{at}.value", f"must not be negative, got {discount.value}"))
        elif discount.kind is DiscountKind.PERCENTAGE and discount.value > 100:
            problems.append(
                FieldViolation(f"{at}.value", f"a percentage must be at most 100, got {discount.value}")
            )
        if discount.charge_id is not None and version.charge(discount.charge_id) is None:
            problems.append(
                FieldViolation(
                    f"{at}.charge_id", f"no charge {discount.charge_id!r} in plan version {version.id}"
                )
            )
    if minimum is not None:
        at = f"{path}.minimum_commitment"
        if minimum.currency != version.currency:
            problems.append(
                FieldViolation(
                    f"{at}.currency",
                    f"must be the plan version's currency {version.currency}, got {minimum.currency}",
                )
            )
        if minimum.amount < 0:
            problems.append(FieldViolation(f"{at}.amount", f"must not be negative, got {minimum.amount}"))
        elif version.maximum is not None and minimum.amount > version.maximum:
            problems.append(
                FieldViolation(
                    f"{at}.amount", f"must not exceed the plan version's maximum {version.maximum}"
                )
            )
    return problems


def _override_violations(
    overrides: tuple[PriceOverride, ...], version: PlanVersionTerms, path: str
) -> list[FieldViolation]:
    problems: list[FieldViolation] = []
    seen: set[str] = set()
    for index, override in enumerate(overrides):
        at = f"{path}[{index}]"
        charge = version.charge(override.charge_id)
        if charge is None:
            problems.append(
                FieldViolation(
                    f"{at}.charge_id", f"no charge {override.charge_id!r} in plan version {version.id}"
                )
            )
            continue
        if override.charge_id in seen:
            problems.append(FieldViolation(f"{at}.charge_id", f"overrides {override.charge_id!r} twice"))
        seen.add(override.charge_id)
        price = charge.price.model
        if override.price is not None:
            price = override.price.model
            problems.extend(price_violations(price, f"{at}.price"))
            if price.currency != version.currency:
                problems.append(
                    FieldViolation(
                        f"{at}.price.currency",
                        f"must be the plan version's currency {version.currency}, got {price.currency}",
                    )
                )
            if isinstance(charge.price.model, FlatPrice) != isinstance(price, FlatPrice):
                problems.append(
                    FieldViolation(
                        f"{at}.price",
                        "a recurring fee is overridden by a flat price, a usage charge by a usage one",
                    )
                )
        included = override.included_quantity
        if included is not None:
            if not included.is_finite() or included < 0:
                problems.append(
                    FieldViolation(f"{at}.included_quantity", f"must not be negative, got {included}")
                )
            elif included > 0 and isinstance(price, PercentagePrice | FlatPrice):
                problems.append(
                    FieldViolation(f"{at}.included_quantity", f"does not apply to a {price.model} price")
                )
    return problems


def validate_subscription(
    subscription: Subscription,
    versions: Mapping[str, PlanVersionTerms],
    customer_currency: str,
    path: str = "subscription",
) -> None:
    """Every rule the subscription breaks, named under ``path``; ``versions`` holds every version it names."""
    problems: list[FieldViolation] = []
    version = versions[subscription.plan_version_id]
    if version.currency != customer_currency:
        problems.append(
            FieldViolation(
                f"{path}.plan_version_id",
                f"plan version is in {version.currency}, the customer is invoiced in {customer_currency}",
            )
        )
    if subscription.end_at is not None and subscription.end_at <= subscription.start_at:
        problems.append(FieldViolation(f"{path}.end_at", "must be after start_at"))
    problems.extend(_override_violations(subscription.overrides, version, f"{path}.price_overrides"))
    problems.extend(
        _negotiated_violations(subscription.discounts, subscription.minimum_commitment, version, path)
    )
    previous_start: datetime | None = None
    for index, phase in enumerate(subscription.phases):
        at = f"{path}.phases[{index}]"
        if phase.start_at < subscription.start_at:
            problems.append(
                FieldViolation(f"{at}.start_at", "must not be before the subscription's start_at")
            )
        if phase.end_at is not None and phase.end_at <= phase.start_at:
            problems.append(FieldViolation(f"{at}.end_at", "must be after the phase's start_at"))
        if previous_start is not None and phase.start_at < previous_start:
            problems.append(FieldViolation(f"{at}.start_at", "phases must be in start order"))
        previous_start = phase.start_at
        phase_version = versions[phase.plan_version_id or subscription.plan_version_id]
        if phase_version.currency != version.currency:
            problems.append(
                FieldViolation(
                    f"{at}.plan_version_id", f"must be in the subscription's currency {version.currency}"
                )
            )
        problems.extend(_override_violations(phase.overrides, phase_version, f"{at}.price_overrides"))
        problems.extend(_negotiated_violations(phase.discounts, phase.minimum_commitment, phase_version, at))
    if problems:
        raise InvalidArgument(problems)


def migrate(
    subscription: Subscription,
    target: PlanVersionTerms,
    effective_at: datetime,
    *,
    keep_overrides: bool,
) -> Subscription:
    """The subscription moved to ``target`` from ``effective_at``; the terms before it are kept as a phase.

    Overrides, discounts and the minimum carry over only with ``keep_overrides``, overrides and discounts
    only for charges ``target`` still has.
    """

    def kept(charge_id: str | None) -> bool:
        return keep_overrides and (charge_id is None or target.charge(charge_id) is not None)

    phases = subscription.phases
    if effective_at > subscription.start_at:
        history = Phase(
            subscription.plan_version_id,
            subscription.start_at,
            effective_at,
            subscription.overrides,
            subscription.discounts,
            subscription.minimum_commitment,
        )
        phases = tuple(sorted((*phases, history), key=lambda p: p.start_at))
    return replace(
        subscription,
        plan_version_id=target.id,
        overrides=tuple(o for o in subscription.overrides if kept(o.charge_id)),
        discounts=tuple(d for d in subscription.discounts if kept(d.charge_id)),
        minimum_commitment=subscription.minimum_commitment if keep_overrides else None,
        phases=phases,
    )
