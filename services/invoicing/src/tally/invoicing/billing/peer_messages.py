"""Catalog's and metering's messages in billing's own terms: subscriptions, customers and credit grants read from
catalog's replies (effective terms are ``tally.pricing_wire.terms_from_wire``'s), and usage queries as metering's
requests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from tally.api.catalog.v1 import catalog_service_pb2 as cat
from tally.api.common.v1 import pagination_pb2, period_pb2
from tally.api.metering.v1 import metering_service_pb2 as met
from tally.domain.errors import InvalidArgument
from tally.invoicing.billing.terms import BilledParty, Subscription, SubscriptionStatus
from tally.invoicing.billing.usage import GroupedQuantity, UsageQuery
from tally.invoicing.credit_ledger.domain import Grant
from tally.invoicing.domain import (
    CustomerSnapshot,
    Issuer,
    PostalAddress,
    References,
    TaxProfile,
    TaxTreatment,
)
from tally.mesh.wire import money_from_wire, timestamp_from_wire, timestamp_to_wire
from tally.money import parse_decimal
from tally.pricing import Period

_STATUSES = {
    cat.SUBSCRIPTION_STATUS_SCHEDULED: SubscriptionStatus.SCHEDULED,
    cat.SUBSCRIPTION_STATUS_ACTIVE: SubscriptionStatus.ACTIVE,
    cat.SUBSCRIPTION_STATUS_CANCELED: SubscriptionStatus.CANCELED,
    cat.SUBSCRIPTION_STATUS_ENDED: SubscriptionStatus.ENDED,
}


def subscription_from_wire(subscription: cat.Subscription) -> Subscription:
    return Subscription(
        id=subscription.id,
        customer_id=subscription.customer_id,
        status=_STATUSES.get(subscription.status, SubscriptionStatus.UNSPECIFIED),
        start_at=timestamp_from_wire(subscription.start_at),
        cancel_at=timestamp_from_wire(subscription.cancel_at),
        end_at=timestamp_from_wire(subscription.end_at),
        references=References(
            quote=subscription.quote_number,
            purchase_order=subscription.purchase_order,
            contract=subscription.contract_reference,
        ),
    )


def address_from_wire(address: cat.Address) -> PostalAddress:
    return PostalAddress(
        address.line1, address.line2, address.city, address.region, address.postal_code, address.country
    )


REVERSE_CHARGE_NOTE = "Reverse charge: no tax is charged; the customer accounts for it."


def tax_profile(customer: cat.Customer) -> TaxProfile:
    """How the customer's tax is named: its type, where it is levied (its billing region and country unless
    catalog names it), and the note an exemption or a reverse charge prints."""
    address = customer.billing_address
    jurisdiction = customer.tax_jurisdiction or ", ".join(p for p in (address.region, address.country) if p)
    if customer.tax_exempt:
        treatment, note = TaxTreatment.EXEMPT, customer.tax_exempt_reason or "Exempt from tax."
    elif customer.reverse_charge:
        treatment, note = TaxTreatment.REVERSE_CHARGE, REVERSE_CHARGE_NOTE
    else:
        treatment, note = TaxTreatment.STANDARD, ""
    return TaxProfile(customer.tax_name or "Tax", jurisdiction, treatment, note)


def issuer_from_wire(entity: cat.LegalEntity) -> Issuer:
    return Issuer(
        id=entity.id,
        legal_name=entity.legal_name,
        address=address_from_wire(entity.address),
        tax_id=entity.tax_id,
        registration_id=entity.registration_id,
        email=entity.email,
        remittance=tuple(entity.remittance_lines),
        number_prefix=entity.number_prefix,
        locale=entity.locale or "en",
        payment_terms_days=entity.payment_terms_days or None,
    )


def party_from_wire(customer: cat.Customer, entities: Mapping[str, cat.LegalEntity]) -> BilledParty:
    """The customer as billing needs it, with the legal entity invoicing it (``entities`` by id); InvalidArgument
    naming ``customer.legal_entity_id`` when catalog did not serve its entity."""
    rate: Decimal | None = None
    if not (customer.tax_exempt or customer.reverse_charge) and customer.tax_rate_percent:
        rate = parse_decimal(customer.tax_rate_percent, field="customer.tax_rate_percent")
    entity = entities.get(customer.legal_entity_id) if customer.legal_entity_id else None
    if customer.legal_entity_id and entity is None:
        raise InvalidArgument.field(
            "customer.legal_entity_id", f"no legal entity {customer.legal_entity_id!r}"
        )
    return BilledParty(
        id=customer.id,
        external_id=customer.external_id or customer.id,
        currency=customer.currency,
        tax_rate_percent=rate,
        snapshot=CustomerSnapshot(
            name=customer.name or customer.id,
            email=customer.email,
            address=address_from_wire(customer.billing_address),
            tax_id=customer.tax_id,
            external_id=customer.external_id or customer.id,
            billing_emails=tuple(customer.billing_emails),
            locale=customer.locale,
            tax=tax_profile(customer),
        ),
        issuer=None if entity is None else issuer_from_wire(entity),
        logo=b"" if entity is None else entity.logo,
    )


def grant_from_wire(grant: cat.CreditGrant) -> Grant:
    amount = money_from_wire(grant.amount, field="credit_grant.amount")
    effective = timestamp_from_wire(grant.effective_at) or timestamp_from_wire(grant.created_at)
    if effective is None:
        raise InvalidArgument.field("credit_grant.effective_at", "is missing and so is created_at")
    return Grant(
        id=grant.id,
        customer_id=grant.customer_id,
        amount=amount,
        cost_basis=parse_decimal(grant.cost_basis or "1", field="credit_grant.cost_basis"),
        priority=grant.priority,
        effective_at=effective,
        expires_at=timestamp_from_wire(grant.expires_at),
        description=grant.description,
        before_tax=grant.kind == cat.CREDIT_GRANT_KIND_PROMOTIONAL,
    )


def _period_to_wire(period: Period) -> period_pb2.Period:
    return period_pb2.Period(start=timestamp_to_wire(period.start), end=timestamp_to_wire(period.end))


def watermark_request() -> met.GetUsageWatermarkRequest:
    return met.GetUsageWatermarkRequest()


def usage_request(queries: Sequence[UsageQuery]) -> met.BatchGetUsageRequest:
    return met.BatchGetUsageRequest(
        queries=[
            met.UsageQuery(
                customer=query.customer,
                meter_id=query.meter_id,
                period=_period_to_wire(query.period),
                group_by=list(query.group_by),
            )
            for query in queries
        ]
    )


def usage_from_wire(reply: met.BatchGetUsageResponse) -> list[GroupedQuantity]:
    """One grouped quantity per result, in order: buckets of the same group are added up."""
    results: list[GroupedQuantity] = []
    for result in reply.results:
        grouped: GroupedQuantity = {}
        for bucket in result.buckets:
            key = tuple(sorted(bucket.group.items()))
            grouped[key] = grouped.get(key, Decimal(0)) + parse_decimal(bucket.quantity, field="quantity")
        results.append(grouped)
    return results


def values_request(query: UsageQuery, *, page_size: int, page_token: str) -> met.ListMeterValuesRequest:
    return met.ListMeterValuesRequest(
        customer=query.customer,
        meter_id=query.meter_id,
        period=_period_to_wire(query.period),
        page=pagination_pb2.PageRequest(page_size=page_size, page_token=page_token),
    )
