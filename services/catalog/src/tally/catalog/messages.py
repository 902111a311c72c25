"""Catalog's wire shapes: customers, products, plans, subscriptions, terms and credit grants (prices and plan
versions are ``tally.catalog.price_wire``'s)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from tally.api.catalog.v1 import catalog_service_pb2 as pb
from tally.api.common.v1 import period_pb2
from tally.catalog.domain import (
    Address,
    BillingAnchor,
    BillingCycle,
    CreditGrant,
    Customer,
    CustomerInput,
    EffectiveTerms,
    LegalEntity,
    Phase,
    Plan,
    PriceOverride,
    Product,
    Subscription,
    SubscriptionStatus,
)
from tally.catalog.price_wire import (
    Reader,
    catalog_price_from_wire,
    catalog_price_to_wire,
    charge_to_wire,
    discount_from_wire,
    discount_to_wire,
    plan_version_to_wire,
)
from tally.domain.errors import FieldViolation, InvalidArgument
from tally.mesh.wire import (
    decimal_from_wire,
    decimal_to_wire,
    money_from_wire,
    money_to_wire,
    timestamp_from_wire,
    timestamp_to_wire,
)
from tally.money import Money
from tally.pricing import Discount


def address_from_wire(address: pb.Address) -> Address:
    return Address(
        line1=address.line1,
        line2=address.line2,
        city=address.city,
        region=address.region,
        postal_code=address.postal_code,
        country=address.country,
    )


def address_to_wire(address: Address) -> pb.Address:
    return pb.Address(
        line1=address.line1,
        line2=address.line2,
        city=address.city,
        region=address.region,
        postal_code=address.postal_code,
        country=address.country,
    )


def customer_input(message: pb.Customer) -> CustomerInput:
    return CustomerInput(
        external_id=message.external_id,
        name=message.name,
        currency=message.currency,
        email=message.email,
        billing_address=address_from_wire(message.billing_address),
        tax_id=message.tax_id,
        tax_rate_percent=message.tax_rate_percent,
        tax_exempt=message.tax_exempt,
        erp_ids=dict(message.erp_ids),
        legal_entity_id=message.legal_entity_id,
        billing_emails=tuple(message.billing_emails),
        locale=message.locale,
        tax_name=message.tax_name,
        tax_jurisdiction=message.tax_jurisdiction,
        reverse_charge=message.reverse_charge,
        tax_exempt_reason=message.tax_exempt_reason,
    )


def customer_to_wire(customer: Customer) -> pb.Customer:
    details = customer.details
    return pb.Customer(
        id=customer.id,
        external_id=details.external_id,
        name=details.name,
        email=details.email,
        currency=details.currency,
        billing_address=address_to_wire(details.billing_address),
        legal_entity_id=details.legal_entity_id,
        billing_emails=list(details.billing_emails),
        locale=details.locale,
        tax_name=details.tax_name,
        tax_jurisdiction=details.tax_jurisdiction,
        reverse_charge=details.reverse_charge,
        tax_exempt_reason=details.tax_exempt_reason,
        tax_id=details.tax_id,
        tax_rate_percent=""
        if details.tax_rate_percent is None
        else decimal_to_wire(details.tax_rate_percent),
        tax_exempt=details.tax_exempt,
        erp_ids=dict(details.erp_ids),
        created_at=timestamp_to_wire(customer.created_at),
        updated_at=timestamp_to_wire(customer.updated_at),
    )


def product_to_wire(product: Product) -> pb.Product:
    return pb.Product(
        id=product.id,
        name=product.name,
        description=product.description,
        created_at=timestamp_to_wire(product.created_at),
    )


def plan_to_wire(plan: Plan) -> pb.Plan:
    return pb.Plan(
        id=plan.id,
        name=plan.name,
        description=plan.description,
        latest_version=plan.latest_version,
        created_at=timestamp_to_wire(plan.created_at),
    )


_CYCLES = {
    pb.BILLING_CYCLE_MONTHLY: BillingCycle.MONTHLY,
    pb.BILLING_CYCLE_QUARTERLY: BillingCycle.QUARTERLY,
    pb.BILLING_CYCLE_ANNUAL: BillingCycle.ANNUAL,
}
_CYCLES_TO_WIRE = {cycle: value for value, cycle in _CYCLES.items()}
_STATUSES = {
    SubscriptionStatus.SCHEDULED: pb.SUBSCRIPTION_STATUS_SCHEDULED,
    SubscriptionStatus.ACTIVE: pb.SUBSCRIPTION_STATUS_ACTIVE,
    SubscriptionStatus.CANCELED: pb.SUBSCRIPTION_STATUS_CANCELED,
    SubscriptionStatus.ENDED: pb.SUBSCRIPTION_STATUS_ENDED,
}
STATUSES_FROM_WIRE = {value: status for status, value in _STATUSES.items()}


def billing_cycle_from_wire(value: int, *, field: str) -> BillingCycle:
    cycle = _CYCLES.get(value)  # type: ignore[call-overload]
    if cycle is None:
        raise InvalidArgument.field(field, "must be MONTHLY, QUARTERLY or ANNUAL")
    return cycle


def billing_cycle_to_wire(cycle: BillingCycle) -> pb.BillingCycle:
    return _CYCLES_TO_WIRE[cycle]


def overrides_from_wire(messages: Iterable[pb.PriceOverride], *, field: str) -> tuple[PriceOverride, ...]:
    """Overrides with each replacement price read and checked on its own (the plan version checks the rest)."""
    read = Reader()
    problems: list[FieldViolation] = []
    overrides = []
    for index, message in enumerate(messages):
        at = f"{field}[{index}]"
        price = None
        if message.HasField("price"):
            try:
                price = catalog_price_from_wire(message.price, field=f"{at}.price")
            except InvalidArgument as exc:
                problems.extend(exc.violations)
        included = read.optional(message.included_quantity, f"{at}.included_quantity")
        overrides.append(PriceOverride(message.charge_id, price, included))
    problems.extend(read.violations)
    if problems:
        raise InvalidArgument(problems)
    return tuple(overrides)


def discounts_from_wire(messages: Iterable[pb.Discount], *, field: str) -> tuple[Discount, ...]:
    """Negotiated discounts, each kind and value read (the plan version checks charge ids and ranges)."""
    read = Reader()
    discounts = tuple(
        discount_from_wire(read, message, f"{field}[{index}]") for index, message in enumerate(messages)
    )
    read.raise_if_any()
    return discounts


def minimum_from_wire(message: pb.Subscription | pb.SubscriptionPhase, *, field: str) -> Money | None:
    if not message.HasField("minimum_commitment"):
        return None
    return money_from_wire(message.minimum_commitment, field=field)


def phases_from_wire(messages: Iterable[pb.SubscriptionPhase], *, field: str) -> tuple[Phase, ...]:
    phases = []
    for index, message in enumerate(messages):
        at = f"{field}[{index}]"
        start = timestamp_from_wire(message.start_at)
        if start is None:
            raise InvalidArgument.field(f"{at}.start_at", "is required")
        phases.append(
            Phase(
                plan_version_id=message.plan_version_id,
                start_at=start,
                end_at=timestamp_from_wire(message.end_at),
                overrides=overrides_from_wire(message.price_overrides, field=f"{at}.price_overrides"),
                discounts=discounts_from_wire(message.discounts, field=f"{at}.discounts"),
                minimum_commitment=minimum_from_wire(message, field=f"{at}.minimum_commitment"),
            )
        )
    return tuple(phases)


def subscription_from_wire(
    message: pb.Subscription, *, field: str = "subscription", customer_required: bool = True
) -> Subscription:
    """A new subscription as requested; id, status, version and timestamps are the handler's to set.

    ``customer_required=False`` lets customer_id be empty (a quote's prospect, created by the caller)."""
    if customer_required and not message.customer_id:
        raise InvalidArgument.field(f"{field}.customer_id", "is required")
    if not message.plan_version_id:
        raise InvalidArgument.field(f"{field}.plan_version_id", "is required")
    start = timestamp_from_wire(message.start_at)
    if start is None:
        raise InvalidArgument.field(f"{field}.start_at", "is required")
    return Subscription(
        id="",
        customer_id=message.customer_id,
        plan_version_id=message.plan_version_id,
        start_at=start,
        billing_cycle=billing_cycle_from_wire(message.billing_cycle, field=f"{field}.billing_cycle"),
        billing_anchor=BillingAnchor.ANNIVERSARY
        if message.billing_anchor == pb.BILLING_ANCHOR_ANNIVERSARY
        else BillingAnchor.CALENDAR,
        end_at=timestamp_from_wire(message.end_at),
        overrides=overrides_from_wire(message.price_overrides, field=f"{field}.price_overrides"),
        phases=phases_from_wire(message.phases, field=f"{field}.phases"),
        discounts=discounts_from_wire(message.discounts, field=f"{field}.discounts"),
        minimum_commitment=minimum_from_wire(message, field=f"{field}.minimum_commitment"),
        purchase_order=message.purchase_order.strip(),
        contract_reference=message.contract_reference.strip(),
    )


def override_to_wire(override: PriceOverride) -> pb.PriceOverride:
    message = pb.PriceOverride(charge_id=override.charge_id)
    if override.price is not None:
        message.price.CopyFrom(catalog_price_to_wire(override.price))
    if override.included_quantity is not None:
        message.included_quantity = decimal_to_wire(override.included_quantity)
    return message


def phase_to_wire(phase: Phase) -> pb.SubscriptionPhase:
    message = pb.SubscriptionPhase(
        plan_version_id=phase.plan_version_id,
        start_at=timestamp_to_wire(phase.start_at),
        price_overrides=[override_to_wire(o) for o in phase.overrides],
        discounts=[discount_to_wire(d) for d in phase.discounts],
    )
    if phase.end_at is not None:
        message.end_at.CopyFrom(timestamp_to_wire(phase.end_at))
    if phase.minimum_commitment is not None:
        message.minimum_commitment.CopyFrom(money_to_wire(phase.minimum_commitment))
    return message


def _set_moment(message: Any, name: str, moment: datetime | None) -> None:
    if moment is not None:
        getattr(message, name).CopyFrom(timestamp_to_wire(moment))


def subscription_to_wire(subscription: Subscription, now: datetime) -> pb.Subscription:
    """The subscription with its status at ``now``."""
    message = pb.Subscription(
        id=subscription.id,
        customer_id=subscription.customer_id,
        plan_version_id=subscription.plan_version_id,
        status=_STATUSES[subscription.status(now)],
        start_at=timestamp_to_wire(subscription.start_at),
        billing_cycle=_CYCLES_TO_WIRE[subscription.billing_cycle],
        billing_anchor=pb.BILLING_ANCHOR_ANNIVERSARY
        if subscription.billing_anchor is BillingAnchor.ANNIVERSARY
        else pb.BILLING_ANCHOR_CALENDAR,
        price_overrides=[override_to_wire(o) for o in subscription.overrides],
        phases=[phase_to_wire(p) for p in subscription.phases],
        quote_id=subscription.quote_id,
        discounts=[discount_to_wire(d) for d in subscription.discounts],
        quote_number=subscription.quote_number,
        purchase_order=subscription.purchase_order,
        contract_reference=subscription.contract_reference,
    )
    if subscription.minimum_commitment is not None:
        message.minimum_commitment.CopyFrom(money_to_wire(subscription.minimum_commitment))
    _set_moment(message, "end_at", subscription.end_at)
    _set_moment(message, "cancel_at", subscription.cancel_at)
    _set_moment(message, "created_at", subscription.created_at)
    _set_moment(message, "updated_at", subscription.updated_at)
    return message


def effective_terms_to_wire(terms: EffectiveTerms) -> pb.EffectiveTerms:
    message = pb.EffectiveTerms(
        subscription_id=terms.subscription_id,
        customer_id=terms.customer_id,
        plan_version=plan_version_to_wire(terms.plan_version),
        usage_charges=[charge_to_wire(c) for c in terms.usage_charges],
        recurring_fees=[charge_to_wire(c) for c in terms.recurring_fees],
        discounts=[discount_to_wire(d) for d in terms.discounts],
        billing_period=period_pb2.Period(
            start=timestamp_to_wire(terms.billing_period.start),
            end=timestamp_to_wire(terms.billing_period.end),
        ),
        billing_cycle=_CYCLES_TO_WIRE[terms.billing_cycle],
        currency=terms.currency,
    )
    if terms.minimum_commitment is not None:
        message.minimum_commitment.CopyFrom(money_to_wire(Money(terms.minimum_commitment, terms.currency)))
    if terms.maximum is not None:
        message.maximum.CopyFrom(money_to_wire(Money(terms.maximum, terms.currency)))
    return message


def credit_grant_from_wire(message: pb.CreditGrant, *, field: str = "credit_grant") -> CreditGrant:
    if not message.customer_id:
        raise InvalidArgument.field(f"{field}.customer_id", "is required")
    if not message.HasField("amount"):
        raise InvalidArgument.field(f"{field}.amount", "is required")
    if not message.cost_basis:
        raise InvalidArgument.field(
            f"{field}.cost_basis", 'is required: "1.00" for bought credit, "0" for promotional'
        )
    return CreditGrant(
        id="",
        customer_id=message.customer_id,
        amount=money_from_wire(message.amount, field=f"{field}.amount"),
        cost_basis=decimal_from_wire(message.cost_basis, field=f"{field}.cost_basis"),
        expires_at=timestamp_from_wire(message.expires_at),
        priority=message.priority,
        effective_at=timestamp_from_wire(message.effective_at),
        description=message.description.strip(),
        promotional=message.kind == pb.CREDIT_GRANT_KIND_PROMOTIONAL,
    )


def credit_grant_to_wire(grant: CreditGrant) -> pb.CreditGrant:
    message = pb.CreditGrant(
        id=grant.id,
        customer_id=grant.customer_id,
        amount=money_to_wire(grant.amount),
        cost_basis=decimal_to_wire(grant.cost_basis),
        priority=grant.priority,
        description=grant.description,
        kind=pb.CREDIT_GRANT_KIND_PROMOTIONAL if grant.promotional else pb.CREDIT_GRANT_KIND_PREPAID,
    )
    _set_moment(message, "expires_at", grant.expires_at)
    _set_moment(message, "effective_at", grant.effective_at)
    _set_moment(message, "created_at", grant.created_at)
    return message


def legal_entity_from_wire(message: pb.LegalEntity) -> LegalEntity:
    return LegalEntity(
        id=message.id,
        legal_name=message.legal_name,
        address=address_from_wire(message.address),
        tax_id=message.tax_id,
        registration_id=message.registration_id,
        email=message.email,
        remittance_lines=tuple(message.remittance_lines),
        logo=message.logo,
        number_prefix=message.number_prefix,
        payment_terms_days=message.payment_terms_days,
        locale=message.locale,
    )


def legal_entity_to_wire(entity: LegalEntity) -> pb.LegalEntity:
    message = pb.LegalEntity(
        id=entity.id,
        legal_name=entity.legal_name,
        address=address_to_wire(entity.address),
        tax_id=entity.tax_id,
        registration_id=entity.registration_id,
        email=entity.email,
        remittance_lines=list(entity.remittance_lines),
        logo=entity.logo,
        number_prefix=entity.number_prefix,
        payment_terms_days=entity.payment_terms_days,
        locale=entity.locale,
    )
    _set_moment(message, "created_at", entity.created_at)
    _set_moment(message, "updated_at", entity.updated_at)
    return message
