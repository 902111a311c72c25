import datetime

from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tally.api.common.v1 import money_pb2 as _money_pb2
from tally.api.common.v1 import pagination_pb2 as _pagination_pb2
from tally.api.common.v1 import period_pb2 as _period_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BillingCycle(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BILLING_CYCLE_UNSPECIFIED: _ClassVar[BillingCycle]
    BILLING_CYCLE_MONTHLY: _ClassVar[BillingCycle]
    BILLING_CYCLE_QUARTERLY: _ClassVar[BillingCycle]
    BILLING_CYCLE_ANNUAL: _ClassVar[BillingCycle]

class BillingAnchor(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BILLING_ANCHOR_UNSPECIFIED: _ClassVar[BillingAnchor]
    BILLING_ANCHOR_CALENDAR: _ClassVar[BillingAnchor]
    BILLING_ANCHOR_ANNIVERSARY: _ClassVar[BillingAnchor]

class BillingTiming(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BILLING_TIMING_UNSPECIFIED: _ClassVar[BillingTiming]
    BILLING_TIMING_IN_ADVANCE: _ClassVar[BillingTiming]
    BILLING_TIMING_IN_ARREARS: _ClassVar[BillingTiming]

class PackageRounding(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PACKAGE_ROUNDING_UNSPECIFIED: _ClassVar[PackageRounding]
    PACKAGE_ROUNDING_UP: _ClassVar[PackageRounding]
    PACKAGE_ROUNDING_DOWN: _ClassVar[PackageRounding]

class DiscountKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DISCOUNT_KIND_UNSPECIFIED: _ClassVar[DiscountKind]
    DISCOUNT_KIND_PERCENTAGE: _ClassVar[DiscountKind]
    DISCOUNT_KIND_FIXED: _ClassVar[DiscountKind]

class SubscriptionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SUBSCRIPTION_STATUS_UNSPECIFIED: _ClassVar[SubscriptionStatus]
    SUBSCRIPTION_STATUS_SCHEDULED: _ClassVar[SubscriptionStatus]
    SUBSCRIPTION_STATUS_ACTIVE: _ClassVar[SubscriptionStatus]
    SUBSCRIPTION_STATUS_CANCELED: _ClassVar[SubscriptionStatus]
    SUBSCRIPTION_STATUS_ENDED: _ClassVar[SubscriptionStatus]

class CreditGrantKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CREDIT_GRANT_KIND_UNSPECIFIED: _ClassVar[CreditGrantKind]
    CREDIT_GRANT_KIND_PREPAID: _ClassVar[CreditGrantKind]
    CREDIT_GRANT_KIND_PROMOTIONAL: _ClassVar[CreditGrantKind]
BILLING_CYCLE_UNSPECIFIED: BillingCycle
BILLING_CYCLE_MONTHLY: BillingCycle
BILLING_CYCLE_QUARTERLY: BillingCycle
BILLING_CYCLE_ANNUAL: BillingCycle
BILLING_ANCHOR_UNSPECIFIED: BillingAnchor
BILLING_ANCHOR_CALENDAR: BillingAnchor
BILLING_ANCHOR_ANNIVERSARY: BillingAnchor
BILLING_TIMING_UNSPECIFIED: BillingTiming
BILLING_TIMING_IN_ADVANCE: BillingTiming
BILLING_TIMING_IN_ARREARS: BillingTiming
PACKAGE_ROUNDING_UNSPECIFIED: PackageRounding
PACKAGE_ROUNDING_UP: PackageRounding
PACKAGE_ROUNDING_DOWN: PackageRounding
DISCOUNT_KIND_UNSPECIFIED: DiscountKind
DISCOUNT_KIND_PERCENTAGE: DiscountKind
DISCOUNT_KIND_FIXED: DiscountKind
SUBSCRIPTION_STATUS_UNSPECIFIED: SubscriptionStatus
SUBSCRIPTION_STATUS_SCHEDULED: SubscriptionStatus
SUBSCRIPTION_STATUS_ACTIVE: SubscriptionStatus
SUBSCRIPTION_STATUS_CANCELED: SubscriptionStatus
SUBSCRIPTION_STATUS_ENDED: SubscriptionStatus
CREDIT_GRANT_KIND_UNSPECIFIED: CreditGrantKind
CREDIT_GRANT_KIND_PREPAID: CreditGrantKind
CREDIT_GRANT_KIND_PROMOTIONAL: CreditGrantKind

class Address(_message.Message):
    __slots__ = ("line1", "line2", "city", "region", "postal_code", "country")
    LINE1_FIELD_NUMBER: _ClassVar[int]
    LINE2_FIELD_NUMBER: _ClassVar[int]
    CITY_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    POSTAL_CODE_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    line1: str
    line2: str
    city: str
    region: str
    postal_code: str
    country: str
    def __init__(self, line1: _Optional[str] = ..., line2: _Optional[str] = ..., city: _Optional[str] = ..., region: _Optional[str] = ..., postal_code: _Optional[str] = ..., country: _Optional[str] = ...) -> None: ...

class LegalEntity(_message.Message):
    __slots__ = ("id", "legal_name", "address", "tax_id", "registration_id", "email", "remittance_lines", "logo", "number_prefix", "payment_terms_days", "locale", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    LEGAL_NAME_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    TAX_ID_FIELD_NUMBER: _ClassVar[int]
    REGISTRATION_ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    REMITTANCE_LINES_FIELD_NUMBER: _ClassVar[int]
    LOGO_FIELD_NUMBER: _ClassVar[int]
    NUMBER_PREFIX_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_TERMS_DAYS_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    legal_name: str
    address: Address
    tax_id: str
    registration_id: str
    email: str
    remittance_lines: _containers.RepeatedScalarFieldContainer[str]
    logo: bytes
    number_prefix: str
    payment_terms_days: int
    locale: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., legal_name: _Optional[str] = ..., address: _Optional[_Union[Address, _Mapping]] = ..., tax_id: _Optional[str] = ..., registration_id: _Optional[str] = ..., email: _Optional[str] = ..., remittance_lines: _Optional[_Iterable[str]] = ..., logo: _Optional[bytes] = ..., number_prefix: _Optional[str] = ..., payment_terms_days: _Optional[int] = ..., locale: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateLegalEntityRequest(_message.Message):
    __slots__ = ("legal_entity",)
    LEGAL_ENTITY_FIELD_NUMBER: _ClassVar[int]
    legal_entity: LegalEntity
    def __init__(self, legal_entity: _Optional[_Union[LegalEntity, _Mapping]] = ...) -> None: ...

class CreateLegalEntityResponse(_message.Message):
    __slots__ = ("legal_entity",)
    LEGAL_ENTITY_FIELD_NUMBER: _ClassVar[int]
    legal_entity: LegalEntity
    def __init__(self, legal_entity: _Optional[_Union[LegalEntity, _Mapping]] = ...) -> None: ...

class GetLegalEntityRequest(_message.Message):
    __slots__ = ("legal_entity_id",)
    LEGAL_ENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    legal_entity_id: str
    def __init__(self, legal_entity_id: _Optional[str] = ...) -> None: ...

class GetLegalEntityResponse(_message.Message):
    __slots__ = ("legal_entity",)
    LEGAL_ENTITY_FIELD_NUMBER: _ClassVar[int]
    legal_entity: LegalEntity
    def __init__(self, legal_entity: _Optional[_Union[LegalEntity, _Mapping]] = ...) -> None: ...

class ListLegalEntitiesRequest(_message.Message):
    __slots__ = ("page",)
    PAGE_FIELD_NUMBER: _ClassVar[int]
    page: _pagination_pb2.PageRequest
    def __init__(self, page: _Optional[_Union[_pagination_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListLegalEntitiesResponse(_message.Message):
    __slots__ = ("legal_entities", "page")
    LEGAL_ENTITIES_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    legal_entities: _containers.RepeatedCompositeFieldContainer[LegalEntity]
    page: _pagination_pb2.PageResponse
    def __init__(self, legal_entities: _Optional[_Iterable[_Union[LegalEntity, _Mapping]]] = ..., page: _Optional[_Union[_pagination_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class UpdateLegalEntityRequest(_message.Message):
    __slots__ = ("legal_entity", "update_mask")
    LEGAL_ENTITY_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    legal_entity: LegalEntity
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, legal_entity: _Optional[_Union[LegalEntity, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateLegalEntityResponse(_message.Message):
    __slots__ = ("legal_entity",)
    LEGAL_ENTITY_FIELD_NUMBER: _ClassVar[int]
    legal_entity: LegalEntity
    def __init__(self, legal_entity: _Optional[_Union[LegalEntity, _Mapping]] = ...) -> None: ...

class Customer(_message.Message):
    __slots__ = ("id", "external_id", "name", "email", "currency", "billing_address", "tax_id", "tax_rate_percent", "tax_exempt", "erp_ids", "created_at", "updated_at", "legal_entity_id", "billing_emails", "locale", "tax_name", "tax_jurisdiction", "reverse_charge", "tax_exempt_reason")
    class ErpIdsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    BILLING_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    TAX_ID_FIELD_NUMBER: _ClassVar[int]
    TAX_RATE_PERCENT_FIELD_NUMBER: _ClassVar[int]
    TAX_EXEMPT_FIELD_NUMBER: _ClassVar[int]
    ERP_IDS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    LEGAL_ENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    BILLING_EMAILS_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    TAX_NAME_FIELD_NUMBER: _ClassVar[int]
    TAX_JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    REVERSE_CHARGE_FIELD_NUMBER: _ClassVar[int]
    TAX_EXEMPT_REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    external_id: str
    name: str
    email: str
    currency: str
    billing_address: Address
    tax_id: str
    tax_rate_percent: str
    tax_exempt: bool
    erp_ids: _containers.ScalarMap[str, str]
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    legal_entity_id: str
    billing_emails: _containers.RepeatedScalarFieldContainer[str]
    locale: str
    tax_name: str
    tax_jurisdiction: str
    reverse_charge: bool
    tax_exempt_reason: str
    def __init__(self, id: _Optional[str] = ..., external_id: _Optional[str] = ..., name: _Optional[str] = ..., email: _Optional[str] = ..., currency: _Optional[str] = ..., billing_address: _Optional[_Union[Address, _Mapping]] = ..., tax_id: _Optional[str] = ..., tax_rate_percent: _Optional[str] = ..., tax_exempt: _Optional[bool] = ..., erp_ids: _Optional[_Mapping[str, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., legal_entity_id: _Optional[str] = ..., billing_emails: _Optional[_Iterable[str]] = ..., locale: _Optional[str] = ..., tax_name: _Optional[str] = ..., tax_jurisdiction: _Optional[str] = ..., reverse_charge: _Optional[bool] = ..., tax_exempt_reason: _Optional[str] = ...) -> None: ...

class CreateCustomerRequest(_message.Message):
    __slots__ = ("customer",)
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    customer: Customer
    def __init__(self, customer: _Optional[_Union[Customer, _Mapping]] = ...) -> None: ...

class CreateCustomerResponse(_message.Message):
    __slots__ = ("customer",)
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    customer: Customer
    def __init__(self, customer: _Optional[_Union[Customer, _Mapping]] = ...) -> None: ...

class GetCustomerRequest(_message.Message):
    __slots__ = ("customer_id", "external_id")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    external_id: str
    def __init__(self, customer_id: _Optional[str] = ..., external_id: _Optional[str] = ...) -> None: ...

class GetCustomerResponse(_message.Message):
    __slots__ = ("customer",)
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    customer: Customer
    def __init__(self, customer: _Optional[_Union[Customer, _Mapping]] = ...) -> None: ...

class ListCustomersRequest(_message.Message):
    __slots__ = ("page",)
    PAGE_FIELD_NUMBER: _ClassVar[int]
    page: _pagination_pb2.PageRequest
    def __init__(self, page: _Optional[_Union[_pagination_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListCustomersResponse(_message.Message):
    __slots__ = ("customers", "page")
    CUSTOMERS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    customers: _containers.RepeatedCompositeFieldContainer[Customer]
    page: _pagination_pb2.PageResponse
    def __init__(self, customers: _Optional[_Iterable[_Union[Customer, _Mapping]]] = ..., page: _Optional[_Union[_pagination_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class UpdateCustomerRequest(_message.Message):
    __slots__ = ("customer", "update_mask")
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    customer: Customer
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, customer: _Optional[_Union[Customer, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateCustomerResponse(_message.Message):
    __slots__ = ("customer",)
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    customer: Customer
    def __init__(self, customer: _Optional[_Union[Customer, _Mapping]] = ...) -> None: ...

class Product(_message.Message):
    __slots__ = ("id", "name", "description", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    description: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateProductRequest(_message.Message):
    __slots__ = ("product",)
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    product: Product
    def __init__(self, product: _Optional[_Union[Product, _Mapping]] = ...) -> None: ...

class CreateProductResponse(_message.Message):
    __slots__ = ("product",)
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    product: Product
    def __init__(self, product: _Optional[_Union[Product, _Mapping]] = ...) -> None: ...

class GetProductRequest(_message.Message):
    __slots__ = ("product_id",)
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    def __init__(self, product_id: _Optional[str] = ...) -> None: ...

class GetProductResponse(_message.Message):
    __slots__ = ("product",)
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    product: Product
    def __init__(self, product: _Optional[_Union[Product, _Mapping]] = ...) -> None: ...

class ListProductsRequest(_message.Message):
    __slots__ = ("page",)
    PAGE_FIELD_NUMBER: _ClassVar[int]
    page: _pagination_pb2.PageRequest
    def __init__(self, page: _Optional[_Union[_pagination_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListProductsResponse(_message.Message):
    __slots__ = ("products", "page")
    PRODUCTS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    products: _containers.RepeatedCompositeFieldContainer[Product]
    page: _pagination_pb2.PageResponse
    def __init__(self, products: _Optional[_Iterable[_Union[Product, _Mapping]]] = ..., page: _Optional[_Union[_pagination_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class Tier(_message.Message):
    __slots__ = ("up_to", "unit_price", "flat_fee")
    UP_TO_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    FLAT_FEE_FIELD_NUMBER: _ClassVar[int]
    up_to: str
    unit_price: str
    flat_fee: str
    def __init__(self, up_to: _Optional[str] = ..., unit_price: _Optional[str] = ..., flat_fee: _Optional[str] = ...) -> None: ...

class UnitPrice(_message.Message):
    __slots__ = ("unit_price",)
    UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    unit_price: str
    def __init__(self, unit_price: _Optional[str] = ...) -> None: ...

class GraduatedPrice(_message.Message):
    __slots__ = ("tiers",)
    TIERS_FIELD_NUMBER: _ClassVar[int]
    tiers: _containers.RepeatedCompositeFieldContainer[Tier]
    def __init__(self, tiers: _Optional[_Iterable[_Union[Tier, _Mapping]]] = ...) -> None: ...

class VolumePrice(_message.Message):
    __slots__ = ("tiers",)
    TIERS_FIELD_NUMBER: _ClassVar[int]
    tiers: _containers.RepeatedCompositeFieldContainer[Tier]
    def __init__(self, tiers: _Optional[_Iterable[_Union[Tier, _Mapping]]] = ...) -> None: ...

class PackagePrice(_message.Message):
    __slots__ = ("package_size", "package_price", "free_units", "rounding")
    PACKAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PACKAGE_PRICE_FIELD_NUMBER: _ClassVar[int]
    FREE_UNITS_FIELD_NUMBER: _ClassVar[int]
    ROUNDING_FIELD_NUMBER: _ClassVar[int]
    package_size: str
    package_price: str
    free_units: str
    rounding: PackageRounding
    def __init__(self, package_size: _Optional[str] = ..., package_price: _Optional[str] = ..., free_units: _Optional[str] = ..., rounding: _Optional[_Union[PackageRounding, str]] = ...) -> None: ...

class PercentagePrice(_message.Message):
    __slots__ = ("rate_percent", "fixed_fee", "min_per_transaction", "max_per_transaction", "free_events", "free_amount")
    RATE_PERCENT_FIELD_NUMBER: _ClassVar[int]
    FIXED_FEE_FIELD_NUMBER: _ClassVar[int]
    MIN_PER_TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    MAX_PER_TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    FREE_EVENTS_FIELD_NUMBER: _ClassVar[int]
    FREE_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    rate_percent: str
    fixed_fee: str
    min_per_transaction: str
    max_per_transaction: str
    free_events: int
    free_amount: str
    def __init__(self, rate_percent: _Optional[str] = ..., fixed_fee: _Optional[str] = ..., min_per_transaction: _Optional[str] = ..., max_per_transaction: _Optional[str] = ..., free_events: _Optional[int] = ..., free_amount: _Optional[str] = ...) -> None: ...

class MatrixCell(_message.Message):
    __slots__ = ("dimension_values", "unit_price")
    DIMENSION_VALUES_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    dimension_values: _containers.RepeatedScalarFieldContainer[str]
    unit_price: str
    def __init__(self, dimension_values: _Optional[_Iterable[str]] = ..., unit_price: _Optional[str] = ...) -> None: ...

class MatrixPrice(_message.Message):
    __slots__ = ("dimensions", "cells", "default_unit_price")
    DIMENSIONS_FIELD_NUMBER: _ClassVar[int]
    CELLS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    dimensions: _containers.RepeatedScalarFieldContainer[str]
    cells: _containers.RepeatedCompositeFieldContainer[MatrixCell]
    default_unit_price: str
    def __init__(self, dimensions: _Optional[_Iterable[str]] = ..., cells: _Optional[_Iterable[_Union[MatrixCell, _Mapping]]] = ..., default_unit_price: _Optional[str] = ...) -> None: ...

class TieredPackagePrice(_message.Message):
    __slots__ = ("package_size", "tiers")
    PACKAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    TIERS_FIELD_NUMBER: _ClassVar[int]
    package_size: str
    tiers: _containers.RepeatedCompositeFieldContainer[Tier]
    def __init__(self, package_size: _Optional[str] = ..., tiers: _Optional[_Iterable[_Union[Tier, _Mapping]]] = ...) -> None: ...

class FlatPrice(_message.Message):
    __slots__ = ("amount", "timing", "prorate")
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    TIMING_FIELD_NUMBER: _ClassVar[int]
    PRORATE_FIELD_NUMBER: _ClassVar[int]
    amount: str
    timing: BillingTiming
    prorate: bool
    def __init__(self, amount: _Optional[str] = ..., timing: _Optional[_Union[BillingTiming, str]] = ..., prorate: _Optional[bool] = ...) -> None: ...

class Price(_message.Message):
    __slots__ = ("id", "product_id", "currency", "meter_id", "unit", "graduated", "volume", "package", "percentage", "matrix", "tiered_package", "flat", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    METER_ID_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    GRADUATED_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    PACKAGE_FIELD_NUMBER: _ClassVar[int]
    PERCENTAGE_FIELD_NUMBER: _ClassVar[int]
    MATRIX_FIELD_NUMBER: _ClassVar[int]
    TIERED_PACKAGE_FIELD_NUMBER: _ClassVar[int]
    FLAT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    product_id: str
    currency: str
    meter_id: str
    unit: UnitPrice
    graduated: GraduatedPrice
    volume: VolumePrice
    package: PackagePrice
    percentage: PercentagePrice
    matrix: MatrixPrice
    tiered_package: TieredPackagePrice
    flat: FlatPrice
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., product_id: _Optional[str] = ..., currency: _Optional[str] = ..., meter_id: _Optional[str] = ..., unit: _Optional[_Union[UnitPrice, _Mapping]] = ..., graduated: _Optional[_Union[GraduatedPrice, _Mapping]] = ..., volume: _Optional[_Union[VolumePrice, _Mapping]] = ..., package: _Optional[_Union[PackagePrice, _Mapping]] = ..., percentage: _Optional[_Union[PercentagePrice, _Mapping]] = ..., matrix: _Optional[_Union[MatrixPrice, _Mapping]] = ..., tiered_package: _Optional[_Union[TieredPackagePrice, _Mapping]] = ..., flat: _Optional[_Union[FlatPrice, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreatePriceRequest(_message.Message):
    __slots__ = ("price",)
    PRICE_FIELD_NUMBER: _ClassVar[int]
    price: Price
    def __init__(self, price: _Optional[_Union[Price, _Mapping]] = ...) -> None: ...

class CreatePriceResponse(_message.Message):
    __slots__ = ("price",)
    PRICE_FIELD_NUMBER: _ClassVar[int]
    price: Price
    def __init__(self, price: _Optional[_Union[Price, _Mapping]] = ...) -> None: ...

class GetPriceRequest(_message.Message):
    __slots__ = ("price_id",)
    PRICE_ID_FIELD_NUMBER: _ClassVar[int]
    price_id: str
    def __init__(self, price_id: _Optional[str] = ...) -> None: ...

class GetPriceResponse(_message.Message):
    __slots__ = ("price",)
    PRICE_FIELD_NUMBER: _ClassVar[int]
    price: Price
    def __init__(self, price: _Optional[_Union[Price, _Mapping]] = ...) -> None: ...

class ListPricesRequest(_message.Message):
    __slots__ = ("product_id", "page")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    page: _pagination_pb2.PageRequest
    def __init__(self, product_id: _Optional[str] = ..., page: _Optional[_Union[_pagination_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListPricesResponse(_message.Message):
    __slots__ = ("prices", "page")
    PRICES_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    prices: _containers.RepeatedCompositeFieldContainer[Price]
    page: _pagination_pb2.PageResponse
    def __init__(self, prices: _Optional[_Iterable[_Union[Price, _Mapping]]] = ..., page: _Optional[_Union[_pagination_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class Plan(_message.Message):
    __slots__ = ("id", "name", "description", "latest_version", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    LATEST_VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    description: str
    latest_version: int
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., latest_version: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Charge(_message.Message):
    __slots__ = ("id", "name", "price", "included_quantity")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    INCLUDED_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    price: Price
    included_quantity: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., price: _Optional[_Union[Price, _Mapping]] = ..., included_quantity: _Optional[str] = ...) -> None: ...

class Discount(_message.Message):
    __slots__ = ("id", "kind", "value", "charge_id", "description")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    CHARGE_ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: DiscountKind
    value: str
    charge_id: str
    description: str
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[_Union[DiscountKind, str]] = ..., value: _Optional[str] = ..., charge_id: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class PlanVersion(_message.Message):
    __slots__ = ("id", "plan_id", "version", "charges", "minimum_commitment", "maximum", "discounts", "published_at", "currency")
    ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CHARGES_FIELD_NUMBER: _ClassVar[int]
    MINIMUM_COMMITMENT_FIELD_NUMBER: _ClassVar[int]
    MAXIMUM_FIELD_NUMBER: _ClassVar[int]
    DISCOUNTS_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_AT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    id: str
    plan_id: str
    version: int
    charges: _containers.RepeatedCompositeFieldContainer[Charge]
    minimum_commitment: _money_pb2.Money
    maximum: _money_pb2.Money
    discounts: _containers.RepeatedCompositeFieldContainer[Discount]
    published_at: _timestamp_pb2.Timestamp
    currency: str
    def __init__(self, id: _Optional[str] = ..., plan_id: _Optional[str] = ..., version: _Optional[int] = ..., charges: _Optional[_Iterable[_Union[Charge, _Mapping]]] = ..., minimum_commitment: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., maximum: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., discounts: _Optional[_Iterable[_Union[Discount, _Mapping]]] = ..., published_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., currency: _Optional[str] = ...) -> None: ...

class CreatePlanRequest(_message.Message):
    __slots__ = ("plan",)
    PLAN_FIELD_NUMBER: _ClassVar[int]
    plan: Plan
    def __init__(self, plan: _Optional[_Union[Plan, _Mapping]] = ...) -> None: ...

class CreatePlanResponse(_message.Message):
    __slots__ = ("plan",)
    PLAN_FIELD_NUMBER: _ClassVar[int]
    plan: Plan
    def __init__(self, plan: _Optional[_Union[Plan, _Mapping]] = ...) -> None: ...

class GetPlanRequest(_message.Message):
    __slots__ = ("plan_id",)
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    plan_id: str
    def __init__(self, plan_id: _Optional[str] = ...) -> None: ...

class GetPlanResponse(_message.Message):
    __slots__ = ("plan", "latest_version")
    PLAN_FIELD_NUMBER: _ClassVar[int]
    LATEST_VERSION_FIELD_NUMBER: _ClassVar[int]
    plan: Plan
    latest_version: PlanVersion
    def __init__(self, plan: _Optional[_Union[Plan, _Mapping]] = ..., latest_version: _Optional[_Union[PlanVersion, _Mapping]] = ...) -> None: ...

class ListPlansRequest(_message.Message):
    __slots__ = ("page",)
    PAGE_FIELD_NUMBER: _ClassVar[int]
    page: _pagination_pb2.PageRequest
    def __init__(self, page: _Optional[_Union[_pagination_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListPlansResponse(_message.Message):
    __slots__ = ("plans", "page")
    PLANS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    plans: _containers.RepeatedCompositeFieldContainer[Plan]
    page: _pagination_pb2.PageResponse
    def __init__(self, plans: _Optional[_Iterable[_Union[Plan, _Mapping]]] = ..., page: _Optional[_Union[_pagination_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class PublishPlanVersionRequest(_message.Message):
    __slots__ = ("plan_version",)
    PLAN_VERSION_FIELD_NUMBER: _ClassVar[int]
    plan_version: PlanVersion
    def __init__(self, plan_version: _Optional[_Union[PlanVersion, _Mapping]] = ...) -> None: ...

class PublishPlanVersionResponse(_message.Message):
    __slots__ = ("plan_version",)
    PLAN_VERSION_FIELD_NUMBER: _ClassVar[int]
    plan_version: PlanVersion
    def __init__(self, plan_version: _Optional[_Union[PlanVersion, _Mapping]] = ...) -> None: ...

class GetPlanVersionRequest(_message.Message):
    __slots__ = ("plan_version_id",)
    PLAN_VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    plan_version_id: str
    def __init__(self, plan_version_id: _Optional[str] = ...) -> None: ...

class GetPlanVersionResponse(_message.Message):
    __slots__ = ("plan_version",)
    PLAN_VERSION_FIELD_NUMBER: _ClassVar[int]
    plan_version: PlanVersion
    def __init__(self, plan_version: _Optional[_Union[PlanVersion, _Mapping]] = ...) -> None: ...

class PriceOverride(_message.Message):
    __slots__ = ("charge_id", "price", "included_quantity")
    CHARGE_ID_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    INCLUDED_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    charge_id: str
    price: Price
    included_quantity: str
    def __init__(self, charge_id: _Optional[str] = ..., price: _Optional[_Union[Price, _Mapping]] = ..., included_quantity: _Optional[str] = ...) -> None: ...

class SubscriptionPhase(_message.Message):
    __slots__ = ("plan_version_id", "start_at", "end_at", "price_overrides", "discounts", "minimum_commitment")
    PLAN_VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    START_AT_FIELD_NUMBER: _ClassVar[int]
    END_AT_FIELD_NUMBER: _ClassVar[int]
    PRICE_OVERRIDES_FIELD_NUMBER: _ClassVar[int]
    DISCOUNTS_FIELD_NUMBER: _ClassVar[int]
    MINIMUM_COMMITMENT_FIELD_NUMBER: _ClassVar[int]
    plan_version_id: str
    start_at: _timestamp_pb2.Timestamp
    end_at: _timestamp_pb2.Timestamp
    price_overrides: _containers.RepeatedCompositeFieldContainer[PriceOverride]
    discounts: _containers.RepeatedCompositeFieldContainer[Discount]
    minimum_commitment: _money_pb2.Money
    def __init__(self, plan_version_id: _Optional[str] = ..., start_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., price_overrides: _Optional[_Iterable[_Union[PriceOverride, _Mapping]]] = ..., discounts: _Optional[_Iterable[_Union[Discount, _Mapping]]] = ..., minimum_commitment: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class Subscription(_message.Message):
    __slots__ = ("id", "customer_id", "plan_version_id", "status", "start_at", "billing_cycle", "billing_anchor", "end_at", "cancel_at", "price_overrides", "phases", "quote_id", "created_at", "updated_at", "discounts", "minimum_commitment", "quote_number", "purchase_order", "contract_reference")
    ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    START_AT_FIELD_NUMBER: _ClassVar[int]
    BILLING_CYCLE_FIELD_NUMBER: _ClassVar[int]
    BILLING_ANCHOR_FIELD_NUMBER: _ClassVar[int]
    END_AT_FIELD_NUMBER: _ClassVar[int]
    CANCEL_AT_FIELD_NUMBER: _ClassVar[int]
    PRICE_OVERRIDES_FIELD_NUMBER: _ClassVar[int]
    PHASES_FIELD_NUMBER: _ClassVar[int]
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    DISCOUNTS_FIELD_NUMBER: _ClassVar[int]
    MINIMUM_COMMITMENT_FIELD_NUMBER: _ClassVar[int]
    QUOTE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    PURCHASE_ORDER_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    id: str
    customer_id: str
    plan_version_id: str
    status: SubscriptionStatus
    start_at: _timestamp_pb2.Timestamp
    billing_cycle: BillingCycle
    billing_anchor: BillingAnchor
    end_at: _timestamp_pb2.Timestamp
    cancel_at: _timestamp_pb2.Timestamp
    price_overrides: _containers.RepeatedCompositeFieldContainer[PriceOverride]
    phases: _containers.RepeatedCompositeFieldContainer[SubscriptionPhase]
    quote_id: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    discounts: _containers.RepeatedCompositeFieldContainer[Discount]
    minimum_commitment: _money_pb2.Money
    quote_number: str
    purchase_order: str
    contract_reference: str
    def __init__(self, id: _Optional[str] = ..., customer_id: _Optional[str] = ..., plan_version_id: _Optional[str] = ..., status: _Optional[_Union[SubscriptionStatus, str]] = ..., start_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., billing_cycle: _Optional[_Union[BillingCycle, str]] = ..., billing_anchor: _Optional[_Union[BillingAnchor, str]] = ..., end_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., cancel_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., price_overrides: _Optional[_Iterable[_Union[PriceOverride, _Mapping]]] = ..., phases: _Optional[_Iterable[_Union[SubscriptionPhase, _Mapping]]] = ..., quote_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., discounts: _Optional[_Iterable[_Union[Discount, _Mapping]]] = ..., minimum_commitment: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., quote_number: _Optional[str] = ..., purchase_order: _Optional[str] = ..., contract_reference: _Optional[str] = ...) -> None: ...

class CreateSubscriptionRequest(_message.Message):
    __slots__ = ("subscription",)
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    subscription: Subscription
    def __init__(self, subscription: _Optional[_Union[Subscription, _Mapping]] = ...) -> None: ...

class CreateSubscriptionResponse(_message.Message):
    __slots__ = ("subscription",)
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    subscription: Subscription
    def __init__(self, subscription: _Optional[_Union[Subscription, _Mapping]] = ...) -> None: ...

class GetSubscriptionRequest(_message.Message):
    __slots__ = ("subscription_id",)
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    def __init__(self, subscription_id: _Optional[str] = ...) -> None: ...

class GetSubscriptionResponse(_message.Message):
    __slots__ = ("subscription",)
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    subscription: Subscription
    def __init__(self, subscription: _Optional[_Union[Subscription, _Mapping]] = ...) -> None: ...

class ListSubscriptionsRequest(_message.Message):
    __slots__ = ("customer_id", "status", "page")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    status: SubscriptionStatus
    page: _pagination_pb2.PageRequest
    def __init__(self, customer_id: _Optional[str] = ..., status: _Optional[_Union[SubscriptionStatus, str]] = ..., page: _Optional[_Union[_pagination_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListSubscriptionsResponse(_message.Message):
    __slots__ = ("subscriptions", "page")
    SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    subscriptions: _containers.RepeatedCompositeFieldContainer[Subscription]
    page: _pagination_pb2.PageResponse
    def __init__(self, subscriptions: _Optional[_Iterable[_Union[Subscription, _Mapping]]] = ..., page: _Optional[_Union[_pagination_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class UpdateSubscriptionRequest(_message.Message):
    __slots__ = ("subscription", "update_mask")
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    subscription: Subscription
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, subscription: _Optional[_Union[Subscription, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateSubscriptionResponse(_message.Message):
    __slots__ = ("subscription",)
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    subscription: Subscription
    def __init__(self, subscription: _Optional[_Union[Subscription, _Mapping]] = ...) -> None: ...

class CancelSubscriptionRequest(_message.Message):
    __slots__ = ("subscription_id", "cancel_at", "reason")
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    CANCEL_AT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    cancel_at: _timestamp_pb2.Timestamp
    reason: str
    def __init__(self, subscription_id: _Optional[str] = ..., cancel_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class CancelSubscriptionResponse(_message.Message):
    __slots__ = ("subscription",)
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    subscription: Subscription
    def __init__(self, subscription: _Optional[_Union[Subscription, _Mapping]] = ...) -> None: ...

class MigrateSubscriptionRequest(_message.Message):
    __slots__ = ("subscription_id", "plan_version_id", "effective_at", "keep_overrides")
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_AT_FIELD_NUMBER: _ClassVar[int]
    KEEP_OVERRIDES_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    plan_version_id: str
    effective_at: _timestamp_pb2.Timestamp
    keep_overrides: bool
    def __init__(self, subscription_id: _Optional[str] = ..., plan_version_id: _Optional[str] = ..., effective_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., keep_overrides: _Optional[bool] = ...) -> None: ...

class MigrateSubscriptionResponse(_message.Message):
    __slots__ = ("subscription",)
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    subscription: Subscription
    def __init__(self, subscription: _Optional[_Union[Subscription, _Mapping]] = ...) -> None: ...

class CreditGrant(_message.Message):
    __slots__ = ("id", "customer_id", "amount", "expires_at", "cost_basis", "priority", "effective_at", "description", "created_at", "kind")
    ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    COST_BASIS_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_AT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    id: str
    customer_id: str
    amount: _money_pb2.Money
    expires_at: _timestamp_pb2.Timestamp
    cost_basis: str
    priority: int
    effective_at: _timestamp_pb2.Timestamp
    description: str
    created_at: _timestamp_pb2.Timestamp
    kind: CreditGrantKind
    def __init__(self, id: _Optional[str] = ..., customer_id: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., cost_basis: _Optional[str] = ..., priority: _Optional[int] = ..., effective_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., description: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., kind: _Optional[_Union[CreditGrantKind, str]] = ...) -> None: ...

class CreateCreditGrantRequest(_message.Message):
    __slots__ = ("credit_grant",)
    CREDIT_GRANT_FIELD_NUMBER: _ClassVar[int]
    credit_grant: CreditGrant
    def __init__(self, credit_grant: _Optional[_Union[CreditGrant, _Mapping]] = ...) -> None: ...

class CreateCreditGrantResponse(_message.Message):
    __slots__ = ("credit_grant",)
    CREDIT_GRANT_FIELD_NUMBER: _ClassVar[int]
    credit_grant: CreditGrant
    def __init__(self, credit_grant: _Optional[_Union[CreditGrant, _Mapping]] = ...) -> None: ...

class ListCreditGrantsRequest(_message.Message):
    __slots__ = ("customer_id", "page")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    page: _pagination_pb2.PageRequest
    def __init__(self, customer_id: _Optional[str] = ..., page: _Optional[_Union[_pagination_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListCreditGrantsResponse(_message.Message):
    __slots__ = ("credit_grants", "page")
    CREDIT_GRANTS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    credit_grants: _containers.RepeatedCompositeFieldContainer[CreditGrant]
    page: _pagination_pb2.PageResponse
    def __init__(self, credit_grants: _Optional[_Iterable[_Union[CreditGrant, _Mapping]]] = ..., page: _Optional[_Union[_pagination_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class EventValues(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, values: _Optional[_Iterable[str]] = ...) -> None: ...

class MatrixUsage(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[MatrixUsageEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[MatrixUsageEntry, _Mapping]]] = ...) -> None: ...

class MatrixUsageEntry(_message.Message):
    __slots__ = ("dimension_values", "quantity")
    DIMENSION_VALUES_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    dimension_values: _containers.RepeatedScalarFieldContainer[str]
    quantity: str
    def __init__(self, dimension_values: _Optional[_Iterable[str]] = ..., quantity: _Optional[str] = ...) -> None: ...

class RateRequest(_message.Message):
    __slots__ = ("price", "quantity", "event_values", "matrix_usage")
    PRICE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    EVENT_VALUES_FIELD_NUMBER: _ClassVar[int]
    MATRIX_USAGE_FIELD_NUMBER: _ClassVar[int]
    price: Price
    quantity: str
    event_values: EventValues
    matrix_usage: MatrixUsage
    def __init__(self, price: _Optional[_Union[Price, _Mapping]] = ..., quantity: _Optional[str] = ..., event_values: _Optional[_Union[EventValues, _Mapping]] = ..., matrix_usage: _Optional[_Union[MatrixUsage, _Mapping]] = ...) -> None: ...

class RateResponse(_message.Message):
    __slots__ = ("amount", "breakdown")
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    BREAKDOWN_FIELD_NUMBER: _ClassVar[int]
    amount: _money_pb2.Money
    breakdown: _containers.RepeatedCompositeFieldContainer[BreakdownLine]
    def __init__(self, amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., breakdown: _Optional[_Iterable[_Union[BreakdownLine, _Mapping]]] = ...) -> None: ...

class BreakdownLine(_message.Message):
    __slots__ = ("description", "tier_index", "units", "unit_price", "flat_fee", "subtotal")
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TIER_INDEX_FIELD_NUMBER: _ClassVar[int]
    UNITS_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    FLAT_FEE_FIELD_NUMBER: _ClassVar[int]
    SUBTOTAL_FIELD_NUMBER: _ClassVar[int]
    description: str
    tier_index: int
    units: str
    unit_price: str
    flat_fee: str
    subtotal: str
    def __init__(self, description: _Optional[str] = ..., tier_index: _Optional[int] = ..., units: _Optional[str] = ..., unit_price: _Optional[str] = ..., flat_fee: _Optional[str] = ..., subtotal: _Optional[str] = ...) -> None: ...

class GetEffectiveTermsRequest(_message.Message):
    __slots__ = ("subscription_id", "at")
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    at: _timestamp_pb2.Timestamp
    def __init__(self, subscription_id: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetEffectiveTermsResponse(_message.Message):
    __slots__ = ("terms",)
    TERMS_FIELD_NUMBER: _ClassVar[int]
    terms: EffectiveTerms
    def __init__(self, terms: _Optional[_Union[EffectiveTerms, _Mapping]] = ...) -> None: ...

class EffectiveTerms(_message.Message):
    __slots__ = ("subscription_id", "customer_id", "plan_version", "usage_charges", "recurring_fees", "minimum_commitment", "maximum", "discounts", "billing_period", "billing_cycle", "currency")
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_VERSION_FIELD_NUMBER: _ClassVar[int]
    USAGE_CHARGES_FIELD_NUMBER: _ClassVar[int]
    RECURRING_FEES_FIELD_NUMBER: _ClassVar[int]
    MINIMUM_COMMITMENT_FIELD_NUMBER: _ClassVar[int]
    MAXIMUM_FIELD_NUMBER: _ClassVar[int]
    DISCOUNTS_FIELD_NUMBER: _ClassVar[int]
    BILLING_PERIOD_FIELD_NUMBER: _ClassVar[int]
    BILLING_CYCLE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    customer_id: str
    plan_version: PlanVersion
    usage_charges: _containers.RepeatedCompositeFieldContainer[Charge]
    recurring_fees: _containers.RepeatedCompositeFieldContainer[Charge]
    minimum_commitment: _money_pb2.Money
    maximum: _money_pb2.Money
    discounts: _containers.RepeatedCompositeFieldContainer[Discount]
    billing_period: _period_pb2.Period
    billing_cycle: BillingCycle
    currency: str
    def __init__(self, subscription_id: _Optional[str] = ..., customer_id: _Optional[str] = ..., plan_version: _Optional[_Union[PlanVersion, _Mapping]] = ..., usage_charges: _Optional[_Iterable[_Union[Charge, _Mapping]]] = ..., recurring_fees: _Optional[_Iterable[_Union[Charge, _Mapping]]] = ..., minimum_commitment: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., maximum: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., discounts: _Optional[_Iterable[_Union[Discount, _Mapping]]] = ..., billing_period: _Optional[_Union[_period_pb2.Period, _Mapping]] = ..., billing_cycle: _Optional[_Union[BillingCycle, str]] = ..., currency: _Optional[str] = ...) -> None: ...

class BatchGetEffectiveTermsRequest(_message.Message):
    __slots__ = ("requests",)
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[GetEffectiveTermsRequest]
    def __init__(self, requests: _Optional[_Iterable[_Union[GetEffectiveTermsRequest, _Mapping]]] = ...) -> None: ...

class EffectiveTermsResult(_message.Message):
    __slots__ = ("terms", "error")
    TERMS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    terms: EffectiveTerms
    error: str
    def __init__(self, terms: _Optional[_Union[EffectiveTerms, _Mapping]] = ..., error: _Optional[str] = ...) -> None: ...

class BatchGetEffectiveTermsResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[EffectiveTermsResult]
    def __init__(self, results: _Optional[_Iterable[_Union[EffectiveTermsResult, _Mapping]]] = ...) -> None: ...
