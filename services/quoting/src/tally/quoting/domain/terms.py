"""A quote's terms: who, which plan version, when, and every negotiated price, discount, ramp and assumption.

The terms are checked against what catalog holds (the plan version, the customer) by the same rules catalog
applies when the accepted quote becomes a subscription, so an approved quote is never refused downstream.
``terms_at`` resolves the terms in force at an instant exactly as catalog resolves the subscription's
(``EffectiveTerms``): the ramp containing the instant, else the quote's own lines, discounts and minimum.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from tally.domain.errors import FieldViolation, InvalidArgument
from tally.money import is_known, round_line
from tally.pricing import (
    Charge,
    Discount,
    DiscountKind,
    EventValues,
    FlatPrice,
    MatrixPrice,
    MatrixUsage,
    PercentagePrice,
    PlanVersion,
    Price,
    Usage,
    price_violations,
)
from tally.pricing.cycles import add_months

MAX_TERM_MONTHS = 120
MAX_PAYMENT_TERMS_DAYS = 365
MAX_AMOUNT = Decimal(10) ** 15
"""No quantity or amount of a quote reaches this: larger ones are refused rather than overflow the engine."""
MAX_EXTERNAL_ID_LENGTH = 255
MAX_TEXT_LENGTH = 500


class BillingCycle(enum.Enum):
    """How often the subscription would be billed; the value is the cycle's length in months."""

    MONTHLY = 1
    QUARTERLY = 3
    ANNUAL = 12


@dataclass(frozen=True)
class Address:
    line1: str = ""
    line2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""
    """ISO 3166-1 alpha-2."""


@dataclass(frozen=True)
class Prospect:
    """A customer-to-be: created in catalog, in the quote's currency, when the quote is accepted."""

    external_id: str
    """The id their usage events will name them by."""
    name: str
    email: str = ""
    address: Address = Address()
    tax_id: str = ""
    tax_rate_percent: Decimal | None = None
    tax_exempt: bool = False


@dataclass(frozen=True)
class NegotiatedPrice:
    """A price replacing a charge's, with the meter it prices (empty: the charge's own)."""

    price: Price
    meter_id: str = ""


@dataclass(frozen=True)
class QuoteLine:
    """One negotiated charge: a price and/or included quantity replacing the plan version's."""

    charge_id: str
    description: str = ""
    price: NegotiatedPrice | None = None
    included_quantity: Decimal | None = None


@dataclass(frozen=True)
class Ramp:
    """Months [start_month, start_month + months) of the term on their own prices and extra discounts."""

    start_month: int
    months: int
    lines: tuple[QuoteLine, ...] = ()
    """Replace the quote's lines for the same charges during the ramp."""
    discounts: tuple[Discount, ...] = ()
    """Added to the quote's discounts during the ramp."""
    description: str = ""


@dataclass(frozen=True)
class UsageAssumption:
    """Usage expected on a meter (or a charge's meter) in one billing period, or in every period (0)."""

    meter_id: str
    charge_id: str
    period: int
    usage: Usage


@dataclass(frozen=True)
class QuoteTerms:
    """Everything a quote offers; a version of a quote is one QuoteTerms."""

    customer_id: str
    """An existing catalog customer; empty when ``prospect`` is set."""
    currency: str
    plan_version_id: str
    start_at: datetime | None
    term_months: int
    """0 for open-ended (priced over its first year)."""
    billing_cycle: BillingCycle | None
    valid_until: datetime | None
    prospect: Prospect | None = None
    anniversary: bool = False
    """Periods start on the start date each cycle; False: calendar boundaries (UTC)."""
    payment_terms_days: int = 0
    lines: tuple[QuoteLine, ...] = ()
    discounts: tuple[Discount, ...] = ()
    minimum_commitment: Decimal | None = None
    prepaid_credit: Decimal | None = None
    ramps: tuple[Ramp, ...] = ()
    assumptions: tuple[UsageAssumption, ...] = ()

    @property
    def end_at(self) -> datetime | None:
        """Start + term, or None for open-ended (and before a start is known)."""
        if self.start_at is None or self.term_months == 0:
            return None
        return add_months(self.start_at, self.term_months)

    def ramp_span(self, ramp: Ramp) -> tuple[datetime, datetime]:
        assert self.start_at is not None
        return add_months(self.start_at, ramp.start_month), add_months(
            self.start_at, ramp.start_month + ramp.months
        )

    def every_line(self) -> tuple[QuoteLine, ...]:
        """The quote's lines and its ramps'."""
        return self.lines + tuple(line for ramp in self.ramps for line in ramp.lines)

    def every_discount(self) -> tuple[Discount, ...]:
        """The quote's discounts and its ramps'."""
        return self.discounts + tuple(discount for ramp in self.ramps for discount in ramp.discounts)

    def list_terms(self) -> QuoteTerms:
        """The same deal at the plan version's list terms: nothing negotiated, the same usage."""
        return replace(self, lines=(), discounts=(), minimum_commitment=None, ramps=(), prepaid_credit=None)


@dataclass(frozen=True)
class ListedCharge:
    """A plan version's charge as catalog publishes it."""

    id: str
    name: str
    price: Price
    meter_id: str
    """Empty for a flat recurring fee."""
    included_quantity: Decimal


@dataclass(frozen=True)
class ListedPlan:
    """A published (so never changing) plan version: the list terms a quote negotiates from."""

    id: str
    currency: str
    charges: tuple[ListedCharge, ...]
    minimum_commitment: Decimal | None = None
    maximum: Decimal | None = None
    discounts: tuple[Discount, ...] = ()

    def charge(self, charge_id: str) -> ListedCharge | None:
        return next((charge for charge in self.charges if charge.id == charge_id), None)


@dataclass(frozen=True)
class QuotedCustomer:
    """An existing customer as a quote needs them."""

    id: str
    external_id: str
    name: str
    currency: str
    tax_rate_percent: Decimal | None
    """None when untaxed (exempt, or no rate)."""


@dataclass(frozen=True)
class TermsInForce:
    """The terms at one instant as an engine plan, with the meter of each usage charge."""

    plan: PlanVersion
    meters: Mapping[str, str]


def assumed_meter(assumption: UsageAssumption, meters: Mapping[str, str]) -> str:
    """The meter an assumption is on: its own, or the meter its charge prices in the terms ``meters`` are of."""
    return assumption.meter_id or meters.get(assumption.charge_id, "")


def usage_in(terms: QuoteTerms, in_force: TermsInForce, period: int) -> dict[str, Usage]:
    """Usage per usage charge for the ``period``-th billing period (1-based): the assumption on the charge's
    meter for that period, else for every period; a charge with neither used nothing."""
    assumed: dict[tuple[str, int], Usage] = {}
    for assumption in terms.assumptions:
        assumed[(assumed_meter(assumption, in_force.meters), assumption.period)] = assumption.usage
    usage = {}
    for charge_id, meter in in_force.meters.items():
        found = assumed.get((meter, period), assumed.get((meter, 0)))
        if found is not None:
            usage[charge_id] = found
    return usage


def _applied(charge: ListedCharge, line: QuoteLine | None) -> tuple[Charge, str]:
    if line is None:
        return Charge(charge.id, charge.name, charge.price, charge.included_quantity), charge.meter_id
    price, meter = charge.price, charge.meter_id
    if line.price is not None:
        # As catalog applies an override: the model is replaced, the meter stays unless the line names one.
        price, meter = line.price.price, line.price.meter_id or charge.meter_id
    included = charge.included_quantity if line.included_quantity is None else line.included_quantity
    return Charge(charge.id, charge.name, price, included), meter


def ramp_lines(terms: QuoteTerms, ramp: Ramp) -> tuple[QuoteLine, ...]:
    """The quote's lines with the ramp's replacing them charge by charge: the subscription phase's overrides."""
    replaced = {line.charge_id for line in ramp.lines}
    return tuple(line for line in terms.lines if line.charge_id not in replaced) + ramp.lines


def ramp_at(terms: QuoteTerms, at: datetime) -> Ramp | None:
    for ramp in terms.ramps:
        start, end = terms.ramp_span(ramp)
        if start <= at < end:
            return ramp
    return None


def terms_at(terms: QuoteTerms, plan: ListedPlan, at: datetime) -> TermsInForce:
    """The terms in force at ``at``, resolved as catalog resolves the subscription the quote becomes."""
    ramp = ramp_at(terms, at)
    lines, discounts = terms.lines, terms.discounts
    if ramp is not None:
        lines, discounts = ramp_lines(terms, ramp), terms.discounts + ramp.discounts
    by_charge = {line.charge_id: line for line in lines}
    charges, meters = [], {}
    for listed in plan.charges:
        charge, meter = _applied(listed, by_charge.get(listed.id))
        charges.append(charge)
        if meter:
            meters[charge.id] = meter
    minimum = plan.minimum_commitment if terms.minimum_commitment is None else terms.minimum_commitment
    return TermsInForce(
        PlanVersion(plan.currency, tuple(charges), minimum, plan.maximum, plan.discounts + discounts), meters
    )


# ---- validation -----------------------------------------------------------------------------------------


class _Problems:
    def __init__(self, path: str) -> None:
        self.path = path
        self.items: list[FieldViolation] = []

    def add(self, name: str, reason: str) -> None:
        self.items.append(FieldViolation(f"{self.path}.{name}", reason))

    def bounded(self, name: str, value: Decimal | None) -> None:
        if value is not None and (not value.is_finite() or value < 0 or value >= MAX_AMOUNT):
            self.add(name, f"must be at least 0 and below {MAX_AMOUNT:,}, got {value}")


def _check_lines(
    p: _Problems, at: str, lines: tuple[QuoteLine, ...], terms: QuoteTerms, plan: ListedPlan
) -> None:
    seen: set[str] = set()
    for index, line in enumerate(lines):
        name = f"{at}[{index}]"
        charge = plan.charge(line.charge_id)
        if charge is None:
            p.add(f"{name}.charge_id", f"no charge {line.charge_id!r} in plan version {plan.id}")
            continue
        if line.charge_id in seen:
            p.add(f"{name}.charge_id", f"negotiates {line.charge_id!r} twice")
        seen.add(line.charge_id)
        if len(line.description) > MAX_TEXT_LENGTH:
            p.add(f"{name}.description", f"must be at most {MAX_TEXT_LENGTH} characters")
        price = charge.price
        if line.price is not None:
            price = line.price.price
            p.items.extend(price_violations(price, f"{p.path}.{name}.price"))
            if price.currency != terms.currency:
                p.add(
                    f"{name}.price.currency",
                    f"must be the quote's currency {terms.currency}, got {price.currency}",
                )
            if isinstance(charge.price, FlatPrice) != isinstance(price, FlatPrice):
                p.add(
                    f"{name}.price",
                    "a recurring fee is negotiated as a flat price, a usage charge as a usage one",
                )
        p.bounded(f"{name}.included_quantity", line.included_quantity)
        if line.included_quantity and isinstance(price, PercentagePrice | FlatPrice):
            p.add(f"{name}.included_quantity", f"does not apply to a {price.model} price")


def _check_discounts(p: _Problems, at: str, discounts: tuple[Discount, ...], plan: ListedPlan) -> None:
    for index, discount in enumerate(discounts):
        name = f"{at}[{index}]"
        p.bounded(f"{name}.value", discount.value)
        if discount.kind is DiscountKind.PERCENTAGE and discount.value > 100:
            p.add(f"{name}.value", f"a percentage must be at most 100, got {discount.value}")
        if discount.charge_id is not None and plan.charge(discount.charge_id) is None:
            p.add(f"{name}.charge_id", f"no charge {discount.charge_id!r} in plan version {plan.id}")


def _check_ramps(p: _Problems, terms: QuoteTerms, plan: ListedPlan) -> None:
    previous_end = 0
    for index, ramp in enumerate(terms.ramps):
        at = f"ramps[{index}]"
        if ramp.months < 1:
            p.add(f"{at}.months", f"must be at least 1, got {ramp.months}")
        if ramp.start_month < previous_end:
            p.add(f"{at}.start_month", "ramps must be in start order and must not overlap")
        if terms.term_months and ramp.start_month + ramp.months > terms.term_months:
            p.add(f"{at}.months", f"the ramp must end within the term of {terms.term_months} months")
        if len(ramp.description) > MAX_TEXT_LENGTH:
            p.add(f"{at}.description", f"must be at most {MAX_TEXT_LENGTH} characters")
        previous_end = max(previous_end, ramp.start_month + ramp.months)
        _check_lines(p, f"{at}.lines", ramp.lines, terms, plan)
        _check_discounts(p, f"{at}.discounts", ramp.discounts, plan)


def _usage_fits(usage: Usage, prices: list[Price]) -> str | None:
    """Why ``usage`` cannot be priced by the charges on its meter, or None."""
    for price in prices:
        wanted = (
            EventValues
            if isinstance(price, PercentagePrice)
            else MatrixUsage
            if isinstance(price, MatrixPrice)
            else Decimal
        )
        if not isinstance(usage, wanted):
            kinds = {EventValues: "event_values", MatrixUsage: "matrix_usage", Decimal: "a quantity"}
            return f"a {price.model} price on this meter is priced from {kinds[wanted]}"
    return None


def _usage_numbers(usage: Usage) -> list[Decimal]:
    if isinstance(usage, EventValues):
        return list(usage.values)
    if isinstance(usage, MatrixUsage):
        return [entry.quantity for entry in usage.entries]
    return [usage]


def _meter_of(plan: ListedPlan, charge_id: str) -> str:
    charge = plan.charge(charge_id)
    return "" if charge is None else charge.meter_id


def _check_assumptions(p: _Problems, terms: QuoteTerms, plan: ListedPlan) -> None:
    meters = {charge.meter_id for charge in plan.charges if charge.meter_id}
    meters |= {line.price.meter_id for line in terms.lines if line.price is not None and line.price.meter_id}
    seen: set[tuple[str, int]] = set()
    for index, assumption in enumerate(terms.assumptions):
        at = f"usage_assumptions[{index}]"
        meter = assumption.meter_id
        if bool(assumption.meter_id) == bool(assumption.charge_id):
            p.add(at, "name exactly one of meter_id and charge_id")
            continue
        if assumption.charge_id:
            charge = plan.charge(assumption.charge_id)
            if charge is None or not charge.meter_id:
                p.add(
                    f"{at}.charge_id", f"no usage charge {assumption.charge_id!r} in plan version {plan.id}"
                )
                continue
            meter = charge.meter_id
            if terms.start_at is not None:
                meter = assumed_meter(assumption, terms_at(terms, plan, terms.start_at).meters)
        elif meter not in meters:
            p.add(f"{at}.meter_id", f"no usage charge of plan version {plan.id} is on meter {meter!r}")
            continue
        if assumption.period < 0:
            p.add(
                f"{at}.period", f"must be 0 (every period) or a period of the term, got {assumption.period}"
            )
        if (meter, assumption.period) in seen:
            p.add(at, f"assumes usage of meter {meter!r} in period {assumption.period} twice")
        seen.add((meter, assumption.period))
        for number in _usage_numbers(assumption.usage):
            if not number.is_finite() or abs(number) >= MAX_AMOUNT:
                p.add(f"{at}.usage", f"values must be finite and below {MAX_AMOUNT:,} in size, got {number}")
                break
        prices = [c.price for c in plan.charges if c.meter_id == meter] + [
            line.price.price
            for line in terms.every_line()
            if line.price is not None and (line.price.meter_id or _meter_of(plan, line.charge_id)) == meter
        ]
        reason = _usage_fits(assumption.usage, prices)
        if reason is not None:
            p.add(f"{at}.usage", reason)


def _check_prospect(p: _Problems, prospect: Prospect) -> None:
    if not prospect.external_id.strip():
        p.add("prospect.external_id", "is required: the id the customer's usage events will carry")
    elif len(prospect.external_id) > MAX_EXTERNAL_ID_LENGTH:
        p.add("prospect.external_id", f"must be at most {MAX_EXTERNAL_ID_LENGTH} characters")
    if not prospect.name.strip():
        p.add("prospect.name", "is required")
    elif len(prospect.name) > MAX_TEXT_LENGTH:
        p.add("prospect.name", f"must be at most {MAX_TEXT_LENGTH} characters")
    if prospect.email and "@" not in prospect.email:
        p.add("prospect.email", f"{prospect.email!r} is not an email address")
    country = prospect.address.country
    if country and not (len(country) == 2 and country.isascii() and country.isalpha() and country.isupper()):
        p.add("prospect.billing_address.country", f"{country!r} is not an ISO 3166-1 alpha-2 code such as DE")
    rate = prospect.tax_rate_percent
    if rate is not None and (not rate.is_finite() or not 0 <= rate <= 100):
        p.add("prospect.tax_rate_percent", f"must be between 0 and 100 percent, got {rate}")


def refuse_nul(terms: QuoteTerms, path: str = "quote") -> None:
    """InvalidArgument naming every text of ``terms`` holding a NUL character: databases (PostgreSQL text)
    cannot store one, so such a quote is refused before anything reads or writes it."""
    texts = [("customer_id", terms.customer_id), ("plan_version_id", terms.plan_version_id)]
    if terms.prospect is not None:
        p = terms.prospect
        texts += [
            (f"prospect.{name}", getattr(p, name)) for name in ("external_id", "name", "email", "tax_id")
        ]
        texts += [(f"prospect.billing_address.{name}", value) for name, value in vars(p.address).items()]
    for at, lines in [("lines", terms.lines)] + [
        (f"ramps[{i}].lines", r.lines) for i, r in enumerate(terms.ramps)
    ]:
        texts += [(f"{at}[{i}].charge_id", line.charge_id) for i, line in enumerate(lines)]
        texts += [(f"{at}[{i}].description", line.description) for i, line in enumerate(lines)]
    texts += [(f"ramps[{i}].description", ramp.description) for i, ramp in enumerate(terms.ramps)]
    for i, assumption in enumerate(terms.assumptions):
        texts += [(f"usage_assumptions[{i}].meter_id", assumption.meter_id)]
        texts += [(f"usage_assumptions[{i}].charge_id", assumption.charge_id)]
    bad = [
        FieldViolation(f"{path}.{name}", "must not contain NUL characters")
        for name, value in texts
        if "\x00" in value
    ]
    if bad:
        raise InvalidArgument(bad)


def validate_terms(
    terms: QuoteTerms,
    plan: ListedPlan,
    customer: QuotedCustomer | None,
    *,
    now: datetime | None,
    path: str = "quote",
) -> None:
    """Every rule ``terms`` break against the plan version and customer, each named under ``path``.

    ``now`` checks that the quote is still valid then; None leaves validity to the lifecycle (a stored quote,
    priced or rendered after it was accepted or lapsed)."""
    p = _Problems(path)
    if bool(terms.customer_id) == (terms.prospect is not None):
        p.add("customer_id", "name an existing customer, or describe a prospect, not both")
    if terms.prospect is not None:
        _check_prospect(p, terms.prospect)
    if not is_known(terms.currency):
        p.add("currency", f"unknown currency {terms.currency!r}: expected an ISO 4217 code")
    elif plan.currency != terms.currency:
        p.add("plan_version_id", f"plan version is in {plan.currency}, the quote in {terms.currency}")
    if customer is not None and customer.currency != terms.currency:
        p.add(
            "currency", f"the customer is invoiced in {customer.currency}, the quote is in {terms.currency}"
        )
    if terms.valid_until is None:
        p.add("valid_until", "is required: the last instant the quote can be accepted")
    elif now is not None and terms.valid_until <= now:
        p.add("valid_until", "must be in the future")
    if terms.start_at is None:
        p.add("start_at", "is required")
    if terms.billing_cycle is None:
        p.add("billing_cycle", "must be MONTHLY, QUARTERLY or ANNUAL")
    if not 0 <= terms.term_months <= MAX_TERM_MONTHS:
        p.add("term_months", f"must be between 0 (open-ended) and {MAX_TERM_MONTHS}")
    if not 0 <= terms.payment_terms_days <= MAX_PAYMENT_TERMS_DAYS:
        p.add("payment_terms_days", f"must be between 0 and {MAX_PAYMENT_TERMS_DAYS}")
    _check_lines(p, "lines", terms.lines, terms, plan)
    _check_discounts(p, "discounts", terms.discounts, plan)
    p.bounded("minimum_commitment.amount", terms.minimum_commitment)
    if (
        terms.minimum_commitment is not None
        and plan.maximum is not None
        and terms.minimum_commitment > plan.maximum
    ):
        p.add("minimum_commitment.amount", f"must not exceed the plan version's maximum {plan.maximum}")
    p.bounded("prepaid_credit.amount", terms.prepaid_credit)
    if (
        terms.prepaid_credit is not None
        and is_known(terms.currency)
        and terms.prepaid_credit.is_finite()
        and abs(terms.prepaid_credit) < MAX_AMOUNT
        and round_line(terms.prepaid_credit, terms.currency) != terms.prepaid_credit
    ):
        p.add("prepaid_credit.amount", f"must be in whole minor units of {terms.currency}")
    if terms.start_at is not None:
        _check_ramps(p, terms, plan)
    _check_assumptions(p, terms, plan)
    if p.items:
        raise InvalidArgument(p.items)
