"""Catalog's pure domain: customers, plans and prices, subscriptions and their effective terms, credit grants.

No I/O and no wire types here (an import-linter contract checks it); the engine is ``tally.pricing``.
"""

from tally.catalog.domain.credits import CreditGrant, validate_credit_grant
from tally.catalog.domain.customers import (
    ERPS,
    MAX_EXTERNAL_ID_LENGTH,
    MAX_NAME_LENGTH,
    MAX_TAX_RATE_PERCENT,
    MUTABLE_CUSTOMER_FIELDS,
    Address,
    Customer,
    CustomerDetails,
    CustomerInput,
    customer_update_fields,
    update_customer,
    validate_customer,
)
from tally.catalog.domain.legal_entities import (
    LegalEntity,
    legal_entity_update_fields,
    logo_type,
    validate_legal_entity,
)
from tally.catalog.domain.plans import (
    CatalogPrice,
    Plan,
    PlanCharge,
    PlanVersionTerms,
    Product,
    validate_catalog_price,
    validate_name,
    validate_plan_version,
)
from tally.catalog.domain.quotes import AcceptedQuote
from tally.catalog.domain.subscriptions import (
    BillingAnchor,
    BillingCycle,
    EffectiveTerms,
    Phase,
    PriceOverride,
    Subscription,
    SubscriptionStatus,
    apply_overrides,
    billing_period,
    migrate,
    resolve_terms,
    validate_subscription,
)

__all__ = [
    "ERPS",
    "MAX_EXTERNAL_ID_LENGTH",
    "MAX_NAME_LENGTH",
    "MAX_TAX_RATE_PERCENT",
    "MUTABLE_CUSTOMER_FIELDS",
    "AcceptedQuote",
    "Address",
    "BillingAnchor",
    "BillingCycle",
    "CatalogPrice",
    "CreditGrant",
    "Customer",
    "CustomerDetails",
    "CustomerInput",
    "EffectiveTerms",
    "LegalEntity",
    "Phase",
    "Plan",
    "PlanCharge",
    "PlanVersionTerms",
    "PriceOverride",
    "Product",
    "Subscription",
    "SubscriptionStatus",
    "apply_overrides",
    "billing_period",
    "customer_update_fields",
    "legal_entity_update_fields",
    "logo_type",
    "migrate",
    "resolve_terms",
    "update_customer",
    "validate_catalog_price",
    "validate_credit_grant",
    "validate_customer",
    "validate_legal_entity",
    "validate_name",
    "validate_plan_version",
    "validate_subscription",
]
