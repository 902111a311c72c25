import datetime

from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tally.api.catalog.v1 import catalog_service_pb2 as _catalog_service_pb2
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

class QuoteStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    QUOTE_STATUS_UNSPECIFIED: _ClassVar[QuoteStatus]
    QUOTE_STATUS_DRAFT: _ClassVar[QuoteStatus]
    QUOTE_STATUS_SUBMITTED: _ClassVar[QuoteStatus]
    QUOTE_STATUS_APPROVED: _ClassVar[QuoteStatus]
    QUOTE_STATUS_REJECTED: _ClassVar[QuoteStatus]
    QUOTE_STATUS_ACCEPTED: _ClassVar[QuoteStatus]
    QUOTE_STATUS_EXPIRED: _ClassVar[QuoteStatus]
QUOTE_STATUS_UNSPECIFIED: QuoteStatus
QUOTE_STATUS_DRAFT: QuoteStatus
QUOTE_STATUS_SUBMITTED: QuoteStatus
QUOTE_STATUS_APPROVED: QuoteStatus
QUOTE_STATUS_REJECTED: QuoteStatus
QUOTE_STATUS_ACCEPTED: QuoteStatus
QUOTE_STATUS_EXPIRED: QuoteStatus

class QuoteLine(_message.Message):
    __slots__ = ("charge_id", "description", "price", "estimated_quantity", "estimated_amount", "breakdown", "included_quantity")
    CHARGE_ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    BREAKDOWN_FIELD_NUMBER: _ClassVar[int]
    INCLUDED_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    charge_id: str
    description: str
    price: _catalog_service_pb2.Price
    estimated_quantity: str
    estimated_amount: _money_pb2.Money
    breakdown: _containers.RepeatedCompositeFieldContainer[_catalog_service_pb2.BreakdownLine]
    included_quantity: str
    def __init__(self, charge_id: _Optional[str] = ..., description: _Optional[str] = ..., price: _Optional[_Union[_catalog_service_pb2.Price, _Mapping]] = ..., estimated_quantity: _Optional[str] = ..., estimated_amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., breakdown: _Optional[_Iterable[_Union[_catalog_service_pb2.BreakdownLine, _Mapping]]] = ..., included_quantity: _Optional[str] = ...) -> None: ...

class Quote(_message.Message):
    __slots__ = ("id", "number", "customer_id", "status", "version", "plan_version_id", "lines", "estimated_total", "valid_until", "start_at", "billing_cycle", "term_months", "rejection_reason", "created_at", "updated_at", "currency")
    ID_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PLAN_VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_TOTAL_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    START_AT_FIELD_NUMBER: _ClassVar[int]
    BILLING_CYCLE_FIELD_NUMBER: _ClassVar[int]
    TERM_MONTHS_FIELD_NUMBER: _ClassVar[int]
    REJECTION_REASON_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    id: str
    number: str
    customer_id: str
    status: QuoteStatus
    version: int
    plan_version_id: str
    lines: _containers.RepeatedCompositeFieldContainer[QuoteLine]
    estimated_total: _money_pb2.Money
    valid_until: _timestamp_pb2.Timestamp
    start_at: _timestamp_pb2.Timestamp
    billing_cycle: _catalog_service_pb2.BillingCycle
    term_months: int
    rejection_reason: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    currency: str
    def __init__(self, id: _Optional[str] = ..., number: _Optional[str] = ..., customer_id: _Optional[str] = ..., status: _Optional[_Union[QuoteStatus, str]] = ..., version: _Optional[int] = ..., plan_version_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[QuoteLine, _Mapping]]] = ..., estimated_total: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., valid_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., start_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., billing_cycle: _Optional[_Union[_catalog_service_pb2.BillingCycle, str]] = ..., term_months: _Optional[int] = ..., rejection_reason: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., currency: _Optional[str] = ...) -> None: ...

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

class PriceQuoteRequest(_message.Message):
    __slots__ = ("quote_id", "quote")
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    quote_id: str
    quote: Quote
    def __init__(self, quote_id: _Optional[str] = ..., quote: _Optional[_Union[Quote, _Mapping]] = ...) -> None: ...

class PriceQuoteResponse(_message.Message):
    __slots__ = ("lines", "minimum_true_up", "estimated_total")
    LINES_FIELD_NUMBER: _ClassVar[int]
    MINIMUM_TRUE_UP_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_TOTAL_FIELD_NUMBER: _ClassVar[int]
    lines: _containers.RepeatedCompositeFieldContainer[QuoteLine]
    minimum_true_up: _money_pb2.Money
    estimated_total: _money_pb2.Money
    def __init__(self, lines: _Optional[_Iterable[_Union[QuoteLine, _Mapping]]] = ..., minimum_true_up: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., estimated_total: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class SubmitQuoteRequest(_message.Message):
    __slots__ = ("quote_id", "version")
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    quote_id: str
    version: int
    def __init__(self, quote_id: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

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
    __slots__ = ("quote_id", "version", "accepted_by")
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_BY_FIELD_NUMBER: _ClassVar[int]
    quote_id: str
    version: int
    accepted_by: str
    def __init__(self, quote_id: _Optional[str] = ..., version: _Optional[int] = ..., accepted_by: _Optional[str] = ...) -> None: ...

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
    __slots__ = ("quote_id", "period")
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    quote_id: str
    period: _period_pb2.Period
    def __init__(self, quote_id: _Optional[str] = ..., period: _Optional[_Union[_period_pb2.Period, _Mapping]] = ...) -> None: ...

class CompareQuoteToActualResponse(_message.Message):
    __slots__ = ("lines", "estimated_total", "actual_total")
    LINES_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_TOTAL_FIELD_NUMBER: _ClassVar[int]
    ACTUAL_TOTAL_FIELD_NUMBER: _ClassVar[int]
    lines: _containers.RepeatedCompositeFieldContainer[QuoteComparisonLine]
    estimated_total: _money_pb2.Money
    actual_total: _money_pb2.Money
    def __init__(self, lines: _Optional[_Iterable[_Union[QuoteComparisonLine, _Mapping]]] = ..., estimated_total: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., actual_total: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class QuoteComparisonLine(_message.Message):
    __slots__ = ("charge_id", "description", "estimated_quantity", "actual_quantity", "estimated_amount", "actual_amount")
    CHARGE_ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    ACTUAL_QUANTITY_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    ACTUAL_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    charge_id: str
    description: str
    estimated_quantity: str
    actual_quantity: str
    estimated_amount: _money_pb2.Money
    actual_amount: _money_pb2.Money
    def __init__(self, charge_id: _Optional[str] = ..., description: _Optional[str] = ..., estimated_quantity: _Optional[str] = ..., actual_quantity: _Optional[str] = ..., estimated_amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., actual_amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...
