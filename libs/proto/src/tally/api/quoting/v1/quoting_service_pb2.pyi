import datetime

from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tally.api.catalog.v1 import catalog_service_pb2 as _catalog_service_pb2
from tally.api.common.v1 import money_pb2 as _money_pb2
from tally.api.common.v1 import pagination_pb2 as _pagination_pb2
from tally.api.common.v1 import period_pb2 as _period_pb2
from tally.api.invoicing.v1 import invoicing_service_pb2 as _invoicing_service_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class QuoteStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    QUOTE_STATUS_UNSPECIFIED: _ClassVar[QuoteStatus]
    QUOTE_STATUS_DRAFT: _ClassVar[QuoteStatus]
    QUOTE_STATUS_SUBMITTED: _ClassVar[QuoteStatus]
    QUOTE_STATUS_APPROVED: _ClassVar[QuoteStatus]
    QUOTE_STATUS_REJECTED: _ClassVar[QuoteStatus]
    QUOTE_STATUS_ACCEPTED: _ClassVar[QuoteStatus]
    QUOTE_STATUS_EXPIRED: _ClassVar[QuoteStatus]

class EstimatedInvoiceKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ESTIMATED_INVOICE_KIND_UNSPECIFIED: _ClassVar[EstimatedInvoiceKind]
    ESTIMATED_INVOICE_KIND_OPENING: _ClassVar[EstimatedInvoiceKind]
    ESTIMATED_INVOICE_KIND_PERIOD: _ClassVar[EstimatedInvoiceKind]
QUOTE_STATUS_UNSPECIFIED: QuoteStatus
QUOTE_STATUS_DRAFT: QuoteStatus
QUOTE_STATUS_SUBMITTED: QuoteStatus
QUOTE_STATUS_APPROVED: QuoteStatus
QUOTE_STATUS_REJECTED: QuoteStatus
QUOTE_STATUS_ACCEPTED: QuoteStatus
QUOTE_STATUS_EXPIRED: QuoteStatus
ESTIMATED_INVOICE_KIND_UNSPECIFIED: EstimatedInvoiceKind
ESTIMATED_INVOICE_KIND_OPENING: EstimatedInvoiceKind
ESTIMATED_INVOICE_KIND_PERIOD: EstimatedInvoiceKind

class QuoteLine(_message.Message):
    __slots__ = ("charge_id", "description", "price", "included_quantity")
    CHARGE_ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    INCLUDED_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    charge_id: str
    description: str
    price: _catalog_service_pb2.Price
    included_quantity: str
    def __init__(self, charge_id: _Optional[str] = ..., description: _Optional[str] = ..., price: _Optional[_Union[_catalog_service_pb2.Price, _Mapping]] = ..., included_quantity: _Optional[str] = ...) -> None: ...

class QuoteRamp(_message.Message):
    __slots__ = ("start_month", "months", "lines", "discounts", "description")
    START_MONTH_FIELD_NUMBER: _ClassVar[int]
    MONTHS_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    DISCOUNTS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    start_month: int
    months: int
    lines: _containers.RepeatedCompositeFieldContainer[QuoteLine]
    discounts: _containers.RepeatedCompositeFieldContainer[_catalog_service_pb2.Discount]
    description: str
    def __init__(self, start_month: _Optional[int] = ..., months: _Optional[int] = ..., lines: _Optional[_Iterable[_Union[QuoteLine, _Mapping]]] = ..., discounts: _Optional[_Iterable[_Union[_catalog_service_pb2.Discount, _Mapping]]] = ..., description: _Optional[str] = ...) -> None: ...

class UsageAssumption(_message.Message):
    __slots__ = ("meter_id", "charge_id", "period", "quantity", "event_values", "matrix_usage")
    METER_ID_FIELD_NUMBER: _ClassVar[int]
    CHARGE_ID_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    EVENT_VALUES_FIELD_NUMBER: _ClassVar[int]
    MATRIX_USAGE_FIELD_NUMBER: _ClassVar[int]
    meter_id: str
    charge_id: str
    period: int
    quantity: str
    event_values: _catalog_service_pb2.EventValues
    matrix_usage: _catalog_service_pb2.MatrixUsage
    def __init__(self, meter_id: _Optional[str] = ..., charge_id: _Optional[str] = ..., period: _Optional[int] = ..., quantity: _Optional[str] = ..., event_values: _Optional[_Union[_catalog_service_pb2.EventValues, _Mapping]] = ..., matrix_usage: _Optional[_Union[_catalog_service_pb2.MatrixUsage, _Mapping]] = ...) -> None: ...

class RequiredApproval(_message.Message):
    __slots__ = ("rule_id", "reason", "approver_role", "approved_by", "approved_at")
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    APPROVER_ROLE_FIELD_NUMBER: _ClassVar[int]
    APPROVED_BY_FIELD_NUMBER: _ClassVar[int]
    APPROVED_AT_FIELD_NUMBER: _ClassVar[int]
    rule_id: str
    reason: str
    approver_role: str
    approved_by: str
    approved_at: _timestamp_pb2.Timestamp
    def __init__(self, rule_id: _Optional[str] = ..., reason: _Optional[str] = ..., approver_role: _Optional[str] = ..., approved_by: _Optional[str] = ..., approved_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class QuoteAcceptance(_message.Message):
    __slots__ = ("signer_name", "signer_email", "accepted_at")
    SIGNER_NAME_FIELD_NUMBER: _ClassVar[int]
    SIGNER_EMAIL_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_AT_FIELD_NUMBER: _ClassVar[int]
    signer_name: str
    signer_email: str
    accepted_at: _timestamp_pb2.Timestamp
    def __init__(self, signer_name: _Optional[str] = ..., signer_email: _Optional[str] = ..., accepted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Quote(_message.Message):
    __slots__ = ("id", "number", "customer_id", "status", "version", "plan_version_id", "lines", "valid_until", "start_at", "billing_cycle", "term_months", "rejection_reason", "created_at", "updated_at", "currency", "prospect", "billing_anchor", "discounts", "minimum_commitment", "prepaid_credit", "ramps", "usage_assumptions", "payment_terms_days", "subscription_id", "acceptance", "required_approvals")
    ID_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PLAN_VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    START_AT_FIELD_NUMBER: _ClassVar[int]
    BILLING_CYCLE_FIELD_NUMBER: _ClassVar[int]
    TERM_MONTHS_FIELD_NUMBER: _ClassVar[int]
    REJECTION_REASON_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    PROSPECT_FIELD_NUMBER: _ClassVar[int]
    BILLING_ANCHOR_FIELD_NUMBER: _ClassVar[int]
    DISCOUNTS_FIELD_NUMBER: _ClassVar[int]
    MINIMUM_COMMITMENT_FIELD_NUMBER: _ClassVar[int]
    PREPAID_CREDIT_FIELD_NUMBER: _ClassVar[int]
    RAMPS_FIELD_NUMBER: _ClassVar[int]
    USAGE_ASSUMPTIONS_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_TERMS_DAYS_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    ACCEPTANCE_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_APPROVALS_FIELD_NUMBER: _ClassVar[int]
    id: str
    number: str
    customer_id: str
    status: QuoteStatus
    version: int
    plan_version_id: str
    lines: _containers.RepeatedCompositeFieldContainer[QuoteLine]
    valid_until: _timestamp_pb2.Timestamp
    start_at: _timestamp_pb2.Timestamp
    billing_cycle: _catalog_service_pb2.BillingCycle
    term_months: int
    rejection_reason: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    currency: str
    prospect: _catalog_service_pb2.Customer
    billing_anchor: _catalog_service_pb2.BillingAnchor
    discounts: _containers.RepeatedCompositeFieldContainer[_catalog_service_pb2.Discount]
    minimum_commitment: _money_pb2.Money
    prepaid_credit: _money_pb2.Money
    ramps: _containers.RepeatedCompositeFieldContainer[QuoteRamp]
    usage_assumptions: _containers.RepeatedCompositeFieldContainer[UsageAssumption]
    payment_terms_days: int
    subscription_id: str
    acceptance: QuoteAcceptance
    required_approvals: _containers.RepeatedCompositeFieldContainer[RequiredApproval]
    def __init__(self, id: _Optional[str] = ..., number: _Optional[str] = ..., customer_id: _Optional[str] = ..., status: _Optional[_Union[QuoteStatus, str]] = ..., version: _Optional[int] = ..., plan_version_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[QuoteLine, _Mapping]]] = ..., valid_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., start_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., billing_cycle: _Optional[_Union[_catalog_service_pb2.BillingCycle, str]] = ..., term_months: _Optional[int] = ..., rejection_reason: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., currency: _Optional[str] = ..., prospect: _Optional[_Union[_catalog_service_pb2.Customer, _Mapping]] = ..., billing_anchor: _Optional[_Union[_catalog_service_pb2.BillingAnchor, str]] = ..., discounts: _Optional[_Iterable[_Union[_catalog_service_pb2.Discount, _Mapping]]] = ..., minimum_commitment: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., prepaid_credit: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., ramps: _Optional[_Iterable[_Union[QuoteRamp, _Mapping]]] = ..., usage_assumptions: _Optional[_Iterable[_Union[UsageAssumption, _Mapping]]] = ..., payment_terms_days: _Optional[int] = ..., subscription_id: _Optional[str] = ..., acceptance: _Optional[_Union[QuoteAcceptance, _Mapping]] = ..., required_approvals: _Optional[_Iterable[_Union[RequiredApproval, _Mapping]]] = ...) -> None: ...

class CreateQuoteRequest(_message.Message):
    __slots__ = ("quote",)
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    quote: Quote
    def __init__(self, quote: _Optional[_Union[Quote, _Mapping]] = ...) -> None: ...

class CreateQuoteResponse(_message.Message):
    __slots__ = ("quote",)
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    quote: Quote
    def __init__(self, quote: _Optional[_Union[Quote, _Mapping]] = ...) -> None: ...

class GetQuoteRequest(_message.Message):
    __slots__ = ("quote_id",)
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    quote_id: str
    def __init__(self, quote_id: _Optional[str] = ...) -> None: ...

class GetQuoteResponse(_message.Message):
    __slots__ = ("quote",)
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    quote: Quote
    def __init__(self, quote: _Optional[_Union[Quote, _Mapping]] = ...) -> None: ...

class ListQuotesRequest(_message.Message):
    __slots__ = ("customer_id", "status", "page")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    status: QuoteStatus
    page: _pagination_pb2.PageRequest
    def __init__(self, customer_id: _Optional[str] = ..., status: _Optional[_Union[QuoteStatus, str]] = ..., page: _Optional[_Union[_pagination_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListQuotesResponse(_message.Message):
    __slots__ = ("quotes", "page")
    QUOTES_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    quotes: _containers.RepeatedCompositeFieldContainer[Quote]
    page: _pagination_pb2.PageResponse
    def __init__(self, quotes: _Optional[_Iterable[_Union[Quote, _Mapping]]] = ..., page: _Optional[_Union[_pagination_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class UpdateQuoteRequest(_message.Message):
    __slots__ = ("quote", "update_mask")
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    quote: Quote
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, quote: _Optional[_Union[Quote, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateQuoteResponse(_message.Message):
    __slots__ = ("quote",)
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    quote: Quote
    def __init__(self, quote: _Optional[_Union[Quote, _Mapping]] = ...) -> None: ...

class GetQuoteHistoryRequest(_message.Message):
    __slots__ = ("quote_id",)
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    quote_id: str
    def __init__(self, quote_id: _Optional[str] = ...) -> None: ...

class QuoteTransition(_message.Message):
    __slots__ = ("from_status", "to_status", "version", "actor", "at", "reason")
    FROM_STATUS_FIELD_NUMBER: _ClassVar[int]
    TO_STATUS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    from_status: QuoteStatus
    to_status: QuoteStatus
    version: int
    actor: str
    at: _timestamp_pb2.Timestamp
    reason: str
    def __init__(self, from_status: _Optional[_Union[QuoteStatus, str]] = ..., to_status: _Optional[_Union[QuoteStatus, str]] = ..., version: _Optional[int] = ..., actor: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class GetQuoteHistoryResponse(_message.Message):
    __slots__ = ("versions", "transitions")
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    TRANSITIONS_FIELD_NUMBER: _ClassVar[int]
    versions: _containers.RepeatedCompositeFieldContainer[Quote]
    transitions: _containers.RepeatedCompositeFieldContainer[QuoteTransition]
    def __init__(self, versions: _Optional[_Iterable[_Union[Quote, _Mapping]]] = ..., transitions: _Optional[_Iterable[_Union[QuoteTransition, _Mapping]]] = ...) -> None: ...

class PriceQuoteRequest(_message.Message):
    __slots__ = ("quote_id", "quote")
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    quote_id: str
    quote: Quote
    def __init__(self, quote_id: _Optional[str] = ..., quote: _Optional[_Union[Quote, _Mapping]] = ...) -> None: ...

class EstimatedLine(_message.Message):
    __slots__ = ("kind", "description", "charge_id", "quantity", "breakdown", "amount", "tax", "service_period")
    KIND_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CHARGE_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    BREAKDOWN_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    TAX_FIELD_NUMBER: _ClassVar[int]
    SERVICE_PERIOD_FIELD_NUMBER: _ClassVar[int]
    kind: _invoicing_service_pb2.InvoiceLineKind
    description: str
    charge_id: str
    quantity: str
    breakdown: _containers.RepeatedCompositeFieldContainer[_catalog_service_pb2.BreakdownLine]
    amount: _money_pb2.Money
    tax: _money_pb2.Money
    service_period: _period_pb2.Period
    def __init__(self, kind: _Optional[_Union[_invoicing_service_pb2.InvoiceLineKind, str]] = ..., description: _Optional[str] = ..., charge_id: _Optional[str] = ..., quantity: _Optional[str] = ..., breakdown: _Optional[_Iterable[_Union[_catalog_service_pb2.BreakdownLine, _Mapping]]] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., tax: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., service_period: _Optional[_Union[_period_pb2.Period, _Mapping]] = ...) -> None: ...

class EstimatedInvoice(_message.Message):
    __slots__ = ("kind", "period_index", "period", "lines", "subtotal", "tax", "total", "credits_applied", "amount_due")
    KIND_FIELD_NUMBER: _ClassVar[int]
    PERIOD_INDEX_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    SUBTOTAL_FIELD_NUMBER: _ClassVar[int]
    TAX_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    CREDITS_APPLIED_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_DUE_FIELD_NUMBER: _ClassVar[int]
    kind: EstimatedInvoiceKind
    period_index: int
    period: _period_pb2.Period
    lines: _containers.RepeatedCompositeFieldContainer[EstimatedLine]
    subtotal: _money_pb2.Money
    tax: _money_pb2.Money
    total: _money_pb2.Money
    credits_applied: _money_pb2.Money
    amount_due: _money_pb2.Money
    def __init__(self, kind: _Optional[_Union[EstimatedInvoiceKind, str]] = ..., period_index: _Optional[int] = ..., period: _Optional[_Union[_period_pb2.Period, _Mapping]] = ..., lines: _Optional[_Iterable[_Union[EstimatedLine, _Mapping]]] = ..., subtotal: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., tax: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., total: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., credits_applied: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., amount_due: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class QuoteEstimate(_message.Message):
    __slots__ = ("currency", "invoices", "total_contract_value", "annual_contract_value", "first_year_value", "list_value", "effective_discount_percent", "tax", "credit_remaining")
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    INVOICES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_CONTRACT_VALUE_FIELD_NUMBER: _ClassVar[int]
    ANNUAL_CONTRACT_VALUE_FIELD_NUMBER: _ClassVar[int]
    FIRST_YEAR_VALUE_FIELD_NUMBER: _ClassVar[int]
    LIST_VALUE_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_DISCOUNT_PERCENT_FIELD_NUMBER: _ClassVar[int]
    TAX_FIELD_NUMBER: _ClassVar[int]
    CREDIT_REMAINING_FIELD_NUMBER: _ClassVar[int]
    currency: str
    invoices: _containers.RepeatedCompositeFieldContainer[EstimatedInvoice]
    total_contract_value: _money_pb2.Money
    annual_contract_value: _money_pb2.Money
    first_year_value: _money_pb2.Money
    list_value: _money_pb2.Money
    effective_discount_percent: str
    tax: _money_pb2.Money
    credit_remaining: _money_pb2.Money
    def __init__(self, currency: _Optional[str] = ..., invoices: _Optional[_Iterable[_Union[EstimatedInvoice, _Mapping]]] = ..., total_contract_value: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., annual_contract_value: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., first_year_value: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., list_value: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., effective_discount_percent: _Optional[str] = ..., tax: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., credit_remaining: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class PriceQuoteResponse(_message.Message):
    __slots__ = ("estimate",)
    ESTIMATE_FIELD_NUMBER: _ClassVar[int]
    estimate: QuoteEstimate
    def __init__(self, estimate: _Optional[_Union[QuoteEstimate, _Mapping]] = ...) -> None: ...

class SubmitQuoteRequest(_message.Message):
    __slots__ = ("quote_id", "version", "submitted_by")
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_BY_FIELD_NUMBER: _ClassVar[int]
    quote_id: str
    version: int
    submitted_by: str
    def __init__(self, quote_id: _Optional[str] = ..., version: _Optional[int] = ..., submitted_by: _Optional[str] = ...) -> None: ...

class SubmitQuoteResponse(_message.Message):
    __slots__ = ("quote",)
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    quote: Quote
    def __init__(self, quote: _Optional[_Union[Quote, _Mapping]] = ...) -> None: ...

class ApproveQuoteRequest(_message.Message):
    __slots__ = ("quote_id", "version", "approver", "comment")
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    APPROVER_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    quote_id: str
    version: int
    approver: str
    comment: str
    def __init__(self, quote_id: _Optional[str] = ..., version: _Optional[int] = ..., approver: _Optional[str] = ..., comment: _Optional[str] = ...) -> None: ...

class ApproveQuoteResponse(_message.Message):
    __slots__ = ("quote",)
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    quote: Quote
    def __init__(self, quote: _Optional[_Union[Quote, _Mapping]] = ...) -> None: ...

class RejectQuoteRequest(_message.Message):
    __slots__ = ("quote_id", "version", "approver", "reason")
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    APPROVER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    quote_id: str
    version: int
    approver: str
    reason: str
    def __init__(self, quote_id: _Optional[str] = ..., version: _Optional[int] = ..., approver: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RejectQuoteResponse(_message.Message):
    __slots__ = ("quote",)
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    quote: Quote
    def __init__(self, quote: _Optional[_Union[Quote, _Mapping]] = ...) -> None: ...

class AcceptQuoteRequest(_message.Message):
    __slots__ = ("quote_id", "version", "accepted_by", "accepted_by_email")
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_BY_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_BY_EMAIL_FIELD_NUMBER: _ClassVar[int]
    quote_id: str
    version: int
    accepted_by: str
    accepted_by_email: str
    def __init__(self, quote_id: _Optional[str] = ..., version: _Optional[int] = ..., accepted_by: _Optional[str] = ..., accepted_by_email: _Optional[str] = ...) -> None: ...

class AcceptQuoteResponse(_message.Message):
    __slots__ = ("quote",)
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    quote: Quote
    def __init__(self, quote: _Optional[_Union[Quote, _Mapping]] = ...) -> None: ...

class GetQuotePdfRequest(_message.Message):
    __slots__ = ("quote_id",)
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    quote_id: str
    def __init__(self, quote_id: _Optional[str] = ...) -> None: ...

class GetQuotePdfResponse(_message.Message):
    __slots__ = ("pdf", "filename")
    PDF_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    pdf: bytes
    filename: str
    def __init__(self, pdf: _Optional[bytes] = ..., filename: _Optional[str] = ...) -> None: ...

class CompareQuoteToActualRequest(_message.Message):
    __slots__ = ("quote_id",)
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    quote_id: str
    def __init__(self, quote_id: _Optional[str] = ...) -> None: ...

class UsageComparison(_message.Message):
    __slots__ = ("meter_id", "assumed_quantity", "metered_quantity", "variance", "variance_percent")
    METER_ID_FIELD_NUMBER: _ClassVar[int]
    ASSUMED_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    METERED_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    VARIANCE_FIELD_NUMBER: _ClassVar[int]
    VARIANCE_PERCENT_FIELD_NUMBER: _ClassVar[int]
    meter_id: str
    assumed_quantity: str
    metered_quantity: str
    variance: str
    variance_percent: str
    def __init__(self, meter_id: _Optional[str] = ..., assumed_quantity: _Optional[str] = ..., metered_quantity: _Optional[str] = ..., variance: _Optional[str] = ..., variance_percent: _Optional[str] = ...) -> None: ...

class PeriodComparison(_message.Message):
    __slots__ = ("period_index", "period", "usage", "estimated_subtotal", "invoiced_subtotal", "variance", "variance_percent", "invoice_numbers")
    PERIOD_INDEX_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    USAGE_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_SUBTOTAL_FIELD_NUMBER: _ClassVar[int]
    INVOICED_SUBTOTAL_FIELD_NUMBER: _ClassVar[int]
    VARIANCE_FIELD_NUMBER: _ClassVar[int]
    VARIANCE_PERCENT_FIELD_NUMBER: _ClassVar[int]
    INVOICE_NUMBERS_FIELD_NUMBER: _ClassVar[int]
    period_index: int
    period: _period_pb2.Period
    usage: _containers.RepeatedCompositeFieldContainer[UsageComparison]
    estimated_subtotal: _money_pb2.Money
    invoiced_subtotal: _money_pb2.Money
    variance: _money_pb2.Money
    variance_percent: str
    invoice_numbers: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, period_index: _Optional[int] = ..., period: _Optional[_Union[_period_pb2.Period, _Mapping]] = ..., usage: _Optional[_Iterable[_Union[UsageComparison, _Mapping]]] = ..., estimated_subtotal: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., invoiced_subtotal: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., variance: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., variance_percent: _Optional[str] = ..., invoice_numbers: _Optional[_Iterable[str]] = ...) -> None: ...

class CompareQuoteToActualResponse(_message.Message):
    __slots__ = ("estimated_total", "actual_total", "subscription_id", "periods", "variance")
    ESTIMATED_TOTAL_FIELD_NUMBER: _ClassVar[int]
    ACTUAL_TOTAL_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    PERIODS_FIELD_NUMBER: _ClassVar[int]
    VARIANCE_FIELD_NUMBER: _ClassVar[int]
    estimated_total: _money_pb2.Money
    actual_total: _money_pb2.Money
    subscription_id: str
    periods: _containers.RepeatedCompositeFieldContainer[PeriodComparison]
    variance: _money_pb2.Money
    def __init__(self, estimated_total: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., actual_total: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., subscription_id: _Optional[str] = ..., periods: _Optional[_Iterable[_Union[PeriodComparison, _Mapping]]] = ..., variance: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...
