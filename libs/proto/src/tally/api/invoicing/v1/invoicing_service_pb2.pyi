import datetime

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

class InvoiceStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INVOICE_STATUS_UNSPECIFIED: _ClassVar[InvoiceStatus]
    INVOICE_STATUS_DRAFT: _ClassVar[InvoiceStatus]
    INVOICE_STATUS_FINALIZED: _ClassVar[InvoiceStatus]
    INVOICE_STATUS_PAID: _ClassVar[InvoiceStatus]
    INVOICE_STATUS_VOID: _ClassVar[InvoiceStatus]
    INVOICE_STATUS_PARTIALLY_PAID: _ClassVar[InvoiceStatus]

class InvoiceLineKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INVOICE_LINE_KIND_UNSPECIFIED: _ClassVar[InvoiceLineKind]
    INVOICE_LINE_KIND_RECURRING: _ClassVar[InvoiceLineKind]
    INVOICE_LINE_KIND_USAGE: _ClassVar[InvoiceLineKind]
    INVOICE_LINE_KIND_MINIMUM_TRUE_UP: _ClassVar[InvoiceLineKind]
    INVOICE_LINE_KIND_DISCOUNT: _ClassVar[InvoiceLineKind]
    INVOICE_LINE_KIND_CREDIT: _ClassVar[InvoiceLineKind]
    INVOICE_LINE_KIND_ADJUSTMENT: _ClassVar[InvoiceLineKind]

class CreditNoteReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CREDIT_NOTE_REASON_UNSPECIFIED: _ClassVar[CreditNoteReason]
    CREDIT_NOTE_REASON_INVOICE_VOIDED: _ClassVar[CreditNoteReason]
    CREDIT_NOTE_REASON_USAGE_CORRECTED: _ClassVar[CreditNoteReason]
    CREDIT_NOTE_REASON_BILLING_ERROR: _ClassVar[CreditNoteReason]
    CREDIT_NOTE_REASON_GOODWILL: _ClassVar[CreditNoteReason]

class CreditLedgerEntryKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CREDIT_LEDGER_ENTRY_KIND_UNSPECIFIED: _ClassVar[CreditLedgerEntryKind]
    CREDIT_LEDGER_ENTRY_KIND_GRANTED: _ClassVar[CreditLedgerEntryKind]
    CREDIT_LEDGER_ENTRY_KIND_BURNED: _ClassVar[CreditLedgerEntryKind]
    CREDIT_LEDGER_ENTRY_KIND_EXPIRED: _ClassVar[CreditLedgerEntryKind]
    CREDIT_LEDGER_ENTRY_KIND_REVERSED: _ClassVar[CreditLedgerEntryKind]

class InvoiceKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INVOICE_KIND_UNSPECIFIED: _ClassVar[InvoiceKind]
    INVOICE_KIND_REGULAR: _ClassVar[InvoiceKind]
    INVOICE_KIND_THRESHOLD: _ClassVar[InvoiceKind]
INVOICE_STATUS_UNSPECIFIED: InvoiceStatus
INVOICE_STATUS_DRAFT: InvoiceStatus
INVOICE_STATUS_FINALIZED: InvoiceStatus
INVOICE_STATUS_PAID: InvoiceStatus
INVOICE_STATUS_VOID: InvoiceStatus
INVOICE_STATUS_PARTIALLY_PAID: InvoiceStatus
INVOICE_LINE_KIND_UNSPECIFIED: InvoiceLineKind
INVOICE_LINE_KIND_RECURRING: InvoiceLineKind
INVOICE_LINE_KIND_USAGE: InvoiceLineKind
INVOICE_LINE_KIND_MINIMUM_TRUE_UP: InvoiceLineKind
INVOICE_LINE_KIND_DISCOUNT: InvoiceLineKind
INVOICE_LINE_KIND_CREDIT: InvoiceLineKind
INVOICE_LINE_KIND_ADJUSTMENT: InvoiceLineKind
CREDIT_NOTE_REASON_UNSPECIFIED: CreditNoteReason
CREDIT_NOTE_REASON_INVOICE_VOIDED: CreditNoteReason
CREDIT_NOTE_REASON_USAGE_CORRECTED: CreditNoteReason
CREDIT_NOTE_REASON_BILLING_ERROR: CreditNoteReason
CREDIT_NOTE_REASON_GOODWILL: CreditNoteReason
CREDIT_LEDGER_ENTRY_KIND_UNSPECIFIED: CreditLedgerEntryKind
CREDIT_LEDGER_ENTRY_KIND_GRANTED: CreditLedgerEntryKind
CREDIT_LEDGER_ENTRY_KIND_BURNED: CreditLedgerEntryKind
CREDIT_LEDGER_ENTRY_KIND_EXPIRED: CreditLedgerEntryKind
CREDIT_LEDGER_ENTRY_KIND_REVERSED: CreditLedgerEntryKind
INVOICE_KIND_UNSPECIFIED: InvoiceKind
INVOICE_KIND_REGULAR: InvoiceKind
INVOICE_KIND_THRESHOLD: InvoiceKind

class InvoiceLine(_message.Message):
    __slots__ = ("id", "kind", "description", "charge_id", "meter_id", "service_period", "quantity", "unit_price", "breakdown", "amount", "tax", "tax_rate_percent", "event_ids", "group", "corrects_invoice_id")
    class GroupEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CHARGE_ID_FIELD_NUMBER: _ClassVar[int]
    METER_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_PERIOD_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    BREAKDOWN_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    TAX_FIELD_NUMBER: _ClassVar[int]
    TAX_RATE_PERCENT_FIELD_NUMBER: _ClassVar[int]
    EVENT_IDS_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    CORRECTS_INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: InvoiceLineKind
    description: str
    charge_id: str
    meter_id: str
    service_period: _period_pb2.Period
    quantity: str
    unit_price: str
    breakdown: _containers.RepeatedCompositeFieldContainer[_catalog_service_pb2.BreakdownLine]
    amount: _money_pb2.Money
    tax: _money_pb2.Money
    tax_rate_percent: str
    event_ids: _containers.RepeatedScalarFieldContainer[str]
    group: _containers.ScalarMap[str, str]
    corrects_invoice_id: str
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[_Union[InvoiceLineKind, str]] = ..., description: _Optional[str] = ..., charge_id: _Optional[str] = ..., meter_id: _Optional[str] = ..., service_period: _Optional[_Union[_period_pb2.Period, _Mapping]] = ..., quantity: _Optional[str] = ..., unit_price: _Optional[str] = ..., breakdown: _Optional[_Iterable[_Union[_catalog_service_pb2.BreakdownLine, _Mapping]]] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., tax: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., tax_rate_percent: _Optional[str] = ..., event_ids: _Optional[_Iterable[str]] = ..., group: _Optional[_Mapping[str, str]] = ..., corrects_invoice_id: _Optional[str] = ...) -> None: ...

class Invoice(_message.Message):
    __slots__ = ("id", "number", "customer_id", "subscription_id", "status", "currency", "period", "lines", "subtotal", "tax", "credits_applied", "total", "amount_due", "issued_at", "due_at", "paid_at", "voided_at", "customer_external_id", "kind", "customer_name", "usage_read_at", "credits_before_tax", "tax_base", "amount_credited", "amount_paid", "amount_remaining", "issuer", "references", "usage_watermark")
    ID_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    SUBTOTAL_FIELD_NUMBER: _ClassVar[int]
    TAX_FIELD_NUMBER: _ClassVar[int]
    CREDITS_APPLIED_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_DUE_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_FIELD_NUMBER: _ClassVar[int]
    DUE_AT_FIELD_NUMBER: _ClassVar[int]
    PAID_AT_FIELD_NUMBER: _ClassVar[int]
    VOIDED_AT_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_NAME_FIELD_NUMBER: _ClassVar[int]
    USAGE_READ_AT_FIELD_NUMBER: _ClassVar[int]
    CREDITS_BEFORE_TAX_FIELD_NUMBER: _ClassVar[int]
    TAX_BASE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_CREDITED_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_PAID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_REMAINING_FIELD_NUMBER: _ClassVar[int]
    ISSUER_FIELD_NUMBER: _ClassVar[int]
    REFERENCES_FIELD_NUMBER: _ClassVar[int]
    USAGE_WATERMARK_FIELD_NUMBER: _ClassVar[int]
    id: str
    number: str
    customer_id: str
    subscription_id: str
    status: InvoiceStatus
    currency: str
    period: _period_pb2.Period
    lines: _containers.RepeatedCompositeFieldContainer[InvoiceLine]
    subtotal: _money_pb2.Money
    tax: _money_pb2.Money
    credits_applied: _money_pb2.Money
    total: _money_pb2.Money
    amount_due: _money_pb2.Money
    issued_at: _timestamp_pb2.Timestamp
    due_at: _timestamp_pb2.Timestamp
    paid_at: _timestamp_pb2.Timestamp
    voided_at: _timestamp_pb2.Timestamp
    customer_external_id: str
    kind: InvoiceKind
    customer_name: str
    usage_read_at: _timestamp_pb2.Timestamp
    credits_before_tax: _money_pb2.Money
    tax_base: _money_pb2.Money
    amount_credited: _money_pb2.Money
    amount_paid: _money_pb2.Money
    amount_remaining: _money_pb2.Money
    issuer: Issuer
    references: DocumentReferences
    usage_watermark: int
    def __init__(self, id: _Optional[str] = ..., number: _Optional[str] = ..., customer_id: _Optional[str] = ..., subscription_id: _Optional[str] = ..., status: _Optional[_Union[InvoiceStatus, str]] = ..., currency: _Optional[str] = ..., period: _Optional[_Union[_period_pb2.Period, _Mapping]] = ..., lines: _Optional[_Iterable[_Union[InvoiceLine, _Mapping]]] = ..., subtotal: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., tax: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., credits_applied: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., total: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., amount_due: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., issued_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., due_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., paid_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., voided_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., customer_external_id: _Optional[str] = ..., kind: _Optional[_Union[InvoiceKind, str]] = ..., customer_name: _Optional[str] = ..., usage_read_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., credits_before_tax: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., tax_base: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., amount_credited: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., amount_paid: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., amount_remaining: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., issuer: _Optional[_Union[Issuer, _Mapping]] = ..., references: _Optional[_Union[DocumentReferences, _Mapping]] = ..., usage_watermark: _Optional[int] = ...) -> None: ...

class Issuer(_message.Message):
    __slots__ = ("legal_entity_id", "legal_name", "number_prefix")
    LEGAL_ENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    LEGAL_NAME_FIELD_NUMBER: _ClassVar[int]
    NUMBER_PREFIX_FIELD_NUMBER: _ClassVar[int]
    legal_entity_id: str
    legal_name: str
    number_prefix: str
    def __init__(self, legal_entity_id: _Optional[str] = ..., legal_name: _Optional[str] = ..., number_prefix: _Optional[str] = ...) -> None: ...

class DocumentReferences(_message.Message):
    __slots__ = ("quote_number", "purchase_order", "contract_reference")
    QUOTE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    PURCHASE_ORDER_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    quote_number: str
    purchase_order: str
    contract_reference: str
    def __init__(self, quote_number: _Optional[str] = ..., purchase_order: _Optional[str] = ..., contract_reference: _Optional[str] = ...) -> None: ...

class CreditNoteLine(_message.Message):
    __slots__ = ("id", "invoice_line_id", "description", "quantity", "amount", "tax", "event_ids")
    ID_FIELD_NUMBER: _ClassVar[int]
    INVOICE_LINE_ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    TAX_FIELD_NUMBER: _ClassVar[int]
    EVENT_IDS_FIELD_NUMBER: _ClassVar[int]
    id: str
    invoice_line_id: str
    description: str
    quantity: str
    amount: _money_pb2.Money
    tax: _money_pb2.Money
    event_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., invoice_line_id: _Optional[str] = ..., description: _Optional[str] = ..., quantity: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., tax: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., event_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class CreditNote(_message.Message):
    __slots__ = ("id", "number", "invoice_id", "invoice_number", "customer_id", "currency", "reason", "memo", "lines", "subtotal", "tax", "total", "issued_at", "amount_applied", "amount_carried_forward")
    ID_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    INVOICE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MEMO_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    SUBTOTAL_FIELD_NUMBER: _ClassVar[int]
    TAX_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_APPLIED_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_CARRIED_FORWARD_FIELD_NUMBER: _ClassVar[int]
    id: str
    number: str
    invoice_id: str
    invoice_number: str
    customer_id: str
    currency: str
    reason: CreditNoteReason
    memo: str
    lines: _containers.RepeatedCompositeFieldContainer[CreditNoteLine]
    subtotal: _money_pb2.Money
    tax: _money_pb2.Money
    total: _money_pb2.Money
    issued_at: _timestamp_pb2.Timestamp
    amount_applied: _money_pb2.Money
    amount_carried_forward: _money_pb2.Money
    def __init__(self, id: _Optional[str] = ..., number: _Optional[str] = ..., invoice_id: _Optional[str] = ..., invoice_number: _Optional[str] = ..., customer_id: _Optional[str] = ..., currency: _Optional[str] = ..., reason: _Optional[_Union[CreditNoteReason, str]] = ..., memo: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[CreditNoteLine, _Mapping]]] = ..., subtotal: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., tax: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., total: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., issued_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., amount_applied: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., amount_carried_forward: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class PreviewInvoiceRequest(_message.Message):
    __slots__ = ("subscription_id", "as_of")
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    as_of: _timestamp_pb2.Timestamp
    def __init__(self, subscription_id: _Optional[str] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PreviewInvoiceResponse(_message.Message):
    __slots__ = ("invoice",)
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    invoice: Invoice
    def __init__(self, invoice: _Optional[_Union[Invoice, _Mapping]] = ...) -> None: ...

class ListInvoicesRequest(_message.Message):
    __slots__ = ("customer_id", "status", "period", "page")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    status: InvoiceStatus
    period: _period_pb2.Period
    page: _pagination_pb2.PageRequest
    def __init__(self, customer_id: _Optional[str] = ..., status: _Optional[_Union[InvoiceStatus, str]] = ..., period: _Optional[_Union[_period_pb2.Period, _Mapping]] = ..., page: _Optional[_Union[_pagination_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListInvoicesResponse(_message.Message):
    __slots__ = ("invoices", "page")
    INVOICES_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    invoices: _containers.RepeatedCompositeFieldContainer[Invoice]
    page: _pagination_pb2.PageResponse
    def __init__(self, invoices: _Optional[_Iterable[_Union[Invoice, _Mapping]]] = ..., page: _Optional[_Union[_pagination_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class GetInvoiceRequest(_message.Message):
    __slots__ = ("invoice_id",)
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    invoice_id: str
    def __init__(self, invoice_id: _Optional[str] = ...) -> None: ...

class GetInvoiceResponse(_message.Message):
    __slots__ = ("invoice",)
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    invoice: Invoice
    def __init__(self, invoice: _Optional[_Union[Invoice, _Mapping]] = ...) -> None: ...

class FinalizeInvoiceRequest(_message.Message):
    __slots__ = ("invoice_id",)
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    invoice_id: str
    def __init__(self, invoice_id: _Optional[str] = ...) -> None: ...

class FinalizeInvoiceResponse(_message.Message):
    __slots__ = ("invoice",)
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    invoice: Invoice
    def __init__(self, invoice: _Optional[_Union[Invoice, _Mapping]] = ...) -> None: ...

class VoidInvoiceRequest(_message.Message):
    __slots__ = ("invoice_id", "reason")
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    invoice_id: str
    reason: str
    def __init__(self, invoice_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class VoidInvoiceResponse(_message.Message):
    __slots__ = ("invoice", "credit_note")
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    CREDIT_NOTE_FIELD_NUMBER: _ClassVar[int]
    invoice: Invoice
    credit_note: CreditNote
    def __init__(self, invoice: _Optional[_Union[Invoice, _Mapping]] = ..., credit_note: _Optional[_Union[CreditNote, _Mapping]] = ...) -> None: ...

class GetInvoicePdfRequest(_message.Message):
    __slots__ = ("invoice_id",)
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    invoice_id: str
    def __init__(self, invoice_id: _Optional[str] = ...) -> None: ...

class GetInvoicePdfResponse(_message.Message):
    __slots__ = ("pdf", "filename")
    PDF_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    pdf: bytes
    filename: str
    def __init__(self, pdf: _Optional[bytes] = ..., filename: _Optional[str] = ...) -> None: ...

class CreditedLines(_message.Message):
    __slots__ = ("lines",)
    LINES_FIELD_NUMBER: _ClassVar[int]
    lines: _containers.RepeatedCompositeFieldContainer[CreditedLine]
    def __init__(self, lines: _Optional[_Iterable[_Union[CreditedLine, _Mapping]]] = ...) -> None: ...

class CreditedLine(_message.Message):
    __slots__ = ("invoice_line_id", "amount")
    INVOICE_LINE_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    invoice_line_id: str
    amount: str
    def __init__(self, invoice_line_id: _Optional[str] = ..., amount: _Optional[str] = ...) -> None: ...

class CreateCreditNoteRequest(_message.Message):
    __slots__ = ("invoice_id", "full", "lines", "amount", "reason", "memo")
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    FULL_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MEMO_FIELD_NUMBER: _ClassVar[int]
    invoice_id: str
    full: bool
    lines: CreditedLines
    amount: _money_pb2.Money
    reason: CreditNoteReason
    memo: str
    def __init__(self, invoice_id: _Optional[str] = ..., full: _Optional[bool] = ..., lines: _Optional[_Union[CreditedLines, _Mapping]] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., reason: _Optional[_Union[CreditNoteReason, str]] = ..., memo: _Optional[str] = ...) -> None: ...

class CreateCreditNoteResponse(_message.Message):
    __slots__ = ("credit_note",)
    CREDIT_NOTE_FIELD_NUMBER: _ClassVar[int]
    credit_note: CreditNote
    def __init__(self, credit_note: _Optional[_Union[CreditNote, _Mapping]] = ...) -> None: ...

class ListCreditNotesRequest(_message.Message):
    __slots__ = ("customer_id", "invoice_id", "page")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    invoice_id: str
    page: _pagination_pb2.PageRequest
    def __init__(self, customer_id: _Optional[str] = ..., invoice_id: _Optional[str] = ..., page: _Optional[_Union[_pagination_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListCreditNotesResponse(_message.Message):
    __slots__ = ("credit_notes", "page")
    CREDIT_NOTES_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    credit_notes: _containers.RepeatedCompositeFieldContainer[CreditNote]
    page: _pagination_pb2.PageResponse
    def __init__(self, credit_notes: _Optional[_Iterable[_Union[CreditNote, _Mapping]]] = ..., page: _Optional[_Union[_pagination_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class GetCreditNoteRequest(_message.Message):
    __slots__ = ("credit_note_id",)
    CREDIT_NOTE_ID_FIELD_NUMBER: _ClassVar[int]
    credit_note_id: str
    def __init__(self, credit_note_id: _Optional[str] = ...) -> None: ...

class GetCreditNoteResponse(_message.Message):
    __slots__ = ("credit_note",)
    CREDIT_NOTE_FIELD_NUMBER: _ClassVar[int]
    credit_note: CreditNote
    def __init__(self, credit_note: _Optional[_Union[CreditNote, _Mapping]] = ...) -> None: ...

class GetCreditNotePdfRequest(_message.Message):
    __slots__ = ("credit_note_id",)
    CREDIT_NOTE_ID_FIELD_NUMBER: _ClassVar[int]
    credit_note_id: str
    def __init__(self, credit_note_id: _Optional[str] = ...) -> None: ...

class GetCreditNotePdfResponse(_message.Message):
    __slots__ = ("pdf", "filename")
    PDF_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    pdf: bytes
    filename: str
    def __init__(self, pdf: _Optional[bytes] = ..., filename: _Optional[str] = ...) -> None: ...

class RunBillingRequest(_message.Message):
    __slots__ = ("as_of",)
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    as_of: _timestamp_pb2.Timestamp
    def __init__(self, as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RunBillingResponse(_message.Message):
    __slots__ = ("subscriptions_evaluated", "invoices_drafted", "invoices_finalized", "failures")
    SUBSCRIPTIONS_EVALUATED_FIELD_NUMBER: _ClassVar[int]
    INVOICES_DRAFTED_FIELD_NUMBER: _ClassVar[int]
    INVOICES_FINALIZED_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    subscriptions_evaluated: int
    invoices_drafted: int
    invoices_finalized: int
    failures: _containers.RepeatedCompositeFieldContainer[BillingFailure]
    def __init__(self, subscriptions_evaluated: _Optional[int] = ..., invoices_drafted: _Optional[int] = ..., invoices_finalized: _Optional[int] = ..., failures: _Optional[_Iterable[_Union[BillingFailure, _Mapping]]] = ...) -> None: ...

class BillingFailure(_message.Message):
    __slots__ = ("subscription_id", "reason")
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    reason: str
    def __init__(self, subscription_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class GetCreditBalanceRequest(_message.Message):
    __slots__ = ("customer_id",)
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    def __init__(self, customer_id: _Optional[str] = ...) -> None: ...

class GetCreditBalanceResponse(_message.Message):
    __slots__ = ("balance", "grants")
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    GRANTS_FIELD_NUMBER: _ClassVar[int]
    balance: _money_pb2.Money
    grants: _containers.RepeatedCompositeFieldContainer[CreditGrantBalance]
    def __init__(self, balance: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., grants: _Optional[_Iterable[_Union[CreditGrantBalance, _Mapping]]] = ...) -> None: ...

class CreditGrantBalance(_message.Message):
    __slots__ = ("credit_grant_id", "remaining", "expires_at", "cost_basis", "description", "before_tax")
    CREDIT_GRANT_ID_FIELD_NUMBER: _ClassVar[int]
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    COST_BASIS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    BEFORE_TAX_FIELD_NUMBER: _ClassVar[int]
    credit_grant_id: str
    remaining: _money_pb2.Money
    expires_at: _timestamp_pb2.Timestamp
    cost_basis: str
    description: str
    before_tax: bool
    def __init__(self, credit_grant_id: _Optional[str] = ..., remaining: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., cost_basis: _Optional[str] = ..., description: _Optional[str] = ..., before_tax: _Optional[bool] = ...) -> None: ...

class ListCreditLedgerRequest(_message.Message):
    __slots__ = ("customer_id", "page")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    page: _pagination_pb2.PageRequest
    def __init__(self, customer_id: _Optional[str] = ..., page: _Optional[_Union[_pagination_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListCreditLedgerResponse(_message.Message):
    __slots__ = ("entries", "page")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[CreditLedgerEntry]
    page: _pagination_pb2.PageResponse
    def __init__(self, entries: _Optional[_Iterable[_Union[CreditLedgerEntry, _Mapping]]] = ..., page: _Optional[_Union[_pagination_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class CreditLedgerEntry(_message.Message):
    __slots__ = ("id", "customer_id", "credit_grant_id", "kind", "amount", "grant_balance_after", "invoice_id", "occurred_at", "description")
    ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    CREDIT_GRANT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    GRANT_BALANCE_AFTER_FIELD_NUMBER: _ClassVar[int]
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    id: str
    customer_id: str
    credit_grant_id: str
    kind: CreditLedgerEntryKind
    amount: _money_pb2.Money
    grant_balance_after: _money_pb2.Money
    invoice_id: str
    occurred_at: _timestamp_pb2.Timestamp
    description: str
    def __init__(self, id: _Optional[str] = ..., customer_id: _Optional[str] = ..., credit_grant_id: _Optional[str] = ..., kind: _Optional[_Union[CreditLedgerEntryKind, str]] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., grant_balance_after: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., invoice_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., description: _Optional[str] = ...) -> None: ...

class UsageAlert(_message.Message):
    __slots__ = ("charge_id", "threshold")
    CHARGE_ID_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    charge_id: str
    threshold: str
    def __init__(self, charge_id: _Optional[str] = ..., threshold: _Optional[str] = ...) -> None: ...

class BillingControls(_message.Message):
    __slots__ = ("subscription_id", "invoice_threshold", "spend_alerts", "usage_alerts")
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    INVOICE_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    SPEND_ALERTS_FIELD_NUMBER: _ClassVar[int]
    USAGE_ALERTS_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    invoice_threshold: _money_pb2.Money
    spend_alerts: _containers.RepeatedCompositeFieldContainer[_money_pb2.Money]
    usage_alerts: _containers.RepeatedCompositeFieldContainer[UsageAlert]
    def __init__(self, subscription_id: _Optional[str] = ..., invoice_threshold: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., spend_alerts: _Optional[_Iterable[_Union[_money_pb2.Money, _Mapping]]] = ..., usage_alerts: _Optional[_Iterable[_Union[UsageAlert, _Mapping]]] = ...) -> None: ...

class SetBillingControlsRequest(_message.Message):
    __slots__ = ("controls",)
    CONTROLS_FIELD_NUMBER: _ClassVar[int]
    controls: BillingControls
    def __init__(self, controls: _Optional[_Union[BillingControls, _Mapping]] = ...) -> None: ...

class SetBillingControlsResponse(_message.Message):
    __slots__ = ("controls",)
    CONTROLS_FIELD_NUMBER: _ClassVar[int]
    controls: BillingControls
    def __init__(self, controls: _Optional[_Union[BillingControls, _Mapping]] = ...) -> None: ...

class GetBillingControlsRequest(_message.Message):
    __slots__ = ("subscription_id",)
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    def __init__(self, subscription_id: _Optional[str] = ...) -> None: ...

class GetBillingControlsResponse(_message.Message):
    __slots__ = ("controls",)
    CONTROLS_FIELD_NUMBER: _ClassVar[int]
    controls: BillingControls
    def __init__(self, controls: _Optional[_Union[BillingControls, _Mapping]] = ...) -> None: ...

class RecordPaymentRequest(_message.Message):
    __slots__ = ("invoice_id", "payment_id", "amount", "received_at", "reference")
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    invoice_id: str
    payment_id: str
    amount: _money_pb2.Money
    received_at: _timestamp_pb2.Timestamp
    reference: str
    def __init__(self, invoice_id: _Optional[str] = ..., payment_id: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., received_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reference: _Optional[str] = ...) -> None: ...

class RecordPaymentResponse(_message.Message):
    __slots__ = ("invoice", "amount_applied", "amount_carried_forward", "duplicate")
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_APPLIED_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_CARRIED_FORWARD_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    invoice: Invoice
    amount_applied: _money_pb2.Money
    amount_carried_forward: _money_pb2.Money
    duplicate: bool
    def __init__(self, invoice: _Optional[_Union[Invoice, _Mapping]] = ..., amount_applied: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., amount_carried_forward: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., duplicate: _Optional[bool] = ...) -> None: ...

class GetCustomerStatementRequest(_message.Message):
    __slots__ = ("customer_id", "as_of")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    as_of: _timestamp_pb2.Timestamp
    def __init__(self, customer_id: _Optional[str] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StatementItem(_message.Message):
    __slots__ = ("invoice_id", "number", "issued_at", "due_at", "amount_due", "amount_remaining", "age_days", "bucket")
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_FIELD_NUMBER: _ClassVar[int]
    DUE_AT_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_DUE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_REMAINING_FIELD_NUMBER: _ClassVar[int]
    AGE_DAYS_FIELD_NUMBER: _ClassVar[int]
    BUCKET_FIELD_NUMBER: _ClassVar[int]
    invoice_id: str
    number: str
    issued_at: _timestamp_pb2.Timestamp
    due_at: _timestamp_pb2.Timestamp
    amount_due: _money_pb2.Money
    amount_remaining: _money_pb2.Money
    age_days: int
    bucket: str
    def __init__(self, invoice_id: _Optional[str] = ..., number: _Optional[str] = ..., issued_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., due_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., amount_due: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., amount_remaining: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., age_days: _Optional[int] = ..., bucket: _Optional[str] = ...) -> None: ...

class StatementSummary(_message.Message):
    __slots__ = ("currency", "buckets", "outstanding", "credit_balance", "net")
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    BUCKETS_FIELD_NUMBER: _ClassVar[int]
    OUTSTANDING_FIELD_NUMBER: _ClassVar[int]
    CREDIT_BALANCE_FIELD_NUMBER: _ClassVar[int]
    NET_FIELD_NUMBER: _ClassVar[int]
    currency: str
    buckets: _containers.RepeatedCompositeFieldContainer[StatementBucket]
    outstanding: _money_pb2.Money
    credit_balance: _money_pb2.Money
    net: _money_pb2.Money
    def __init__(self, currency: _Optional[str] = ..., buckets: _Optional[_Iterable[_Union[StatementBucket, _Mapping]]] = ..., outstanding: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., credit_balance: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., net: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class StatementBucket(_message.Message):
    __slots__ = ("bucket", "amount")
    BUCKET_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    bucket: str
    amount: _money_pb2.Money
    def __init__(self, bucket: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class GetCustomerStatementResponse(_message.Message):
    __slots__ = ("customer_id", "as_of", "items", "summaries")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    SUMMARIES_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    as_of: _timestamp_pb2.Timestamp
    items: _containers.RepeatedCompositeFieldContainer[StatementItem]
    summaries: _containers.RepeatedCompositeFieldContainer[StatementSummary]
    def __init__(self, customer_id: _Optional[str] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., items: _Optional[_Iterable[_Union[StatementItem, _Mapping]]] = ..., summaries: _Optional[_Iterable[_Union[StatementSummary, _Mapping]]] = ...) -> None: ...

class GetCustomerStatementPdfRequest(_message.Message):
    __slots__ = ("customer_id", "as_of")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    as_of: _timestamp_pb2.Timestamp
    def __init__(self, customer_id: _Optional[str] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetCustomerStatementPdfResponse(_message.Message):
    __slots__ = ("pdf", "filename")
    PDF_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    pdf: bytes
    filename: str
    def __init__(self, pdf: _Optional[bytes] = ..., filename: _Optional[str] = ...) -> None: ...

class ListBillingRunsRequest(_message.Message):
    __slots__ = ("page",)
    PAGE_FIELD_NUMBER: _ClassVar[int]
    page: _pagination_pb2.PageRequest
    def __init__(self, page: _Optional[_Union[_pagination_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class BillingRun(_message.Message):
    __slots__ = ("id", "trigger", "as_of", "started_at", "finished_at", "subscriptions_evaluated", "invoices_drafted", "invoices_finalized", "failures", "error")
    ID_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTIONS_EVALUATED_FIELD_NUMBER: _ClassVar[int]
    INVOICES_DRAFTED_FIELD_NUMBER: _ClassVar[int]
    INVOICES_FINALIZED_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    id: str
    trigger: str
    as_of: _timestamp_pb2.Timestamp
    started_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    subscriptions_evaluated: int
    invoices_drafted: int
    invoices_finalized: int
    failures: _containers.RepeatedCompositeFieldContainer[BillingFailure]
    error: str
    def __init__(self, id: _Optional[str] = ..., trigger: _Optional[str] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., subscriptions_evaluated: _Optional[int] = ..., invoices_drafted: _Optional[int] = ..., invoices_finalized: _Optional[int] = ..., failures: _Optional[_Iterable[_Union[BillingFailure, _Mapping]]] = ..., error: _Optional[str] = ...) -> None: ...

class ListBillingRunsResponse(_message.Message):
    __slots__ = ("runs", "page")
    RUNS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[BillingRun]
    page: _pagination_pb2.PageResponse
    def __init__(self, runs: _Optional[_Iterable[_Union[BillingRun, _Mapping]]] = ..., page: _Optional[_Union[_pagination_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class ListDeliveriesRequest(_message.Message):
    __slots__ = ("document_id", "page")
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    document_id: str
    page: _pagination_pb2.PageRequest
    def __init__(self, document_id: _Optional[str] = ..., page: _Optional[_Union[_pagination_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class DeliveryAttempt(_message.Message):
    __slots__ = ("attempted_at", "outcome", "detail")
    ATTEMPTED_AT_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    attempted_at: _timestamp_pb2.Timestamp
    outcome: str
    detail: str
    def __init__(self, attempted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., outcome: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class Delivery(_message.Message):
    __slots__ = ("id", "document_kind", "document_id", "document_number", "customer_id", "recipients", "state", "attempts", "next_attempt_at", "sent_at", "message_id", "log", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_KIND_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_NUMBER_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    RECIPIENTS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_ATTEMPT_AT_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    LOG_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    document_kind: str
    document_id: str
    document_number: str
    customer_id: str
    recipients: _containers.RepeatedScalarFieldContainer[str]
    state: str
    attempts: int
    next_attempt_at: _timestamp_pb2.Timestamp
    sent_at: _timestamp_pb2.Timestamp
    message_id: str
    log: _containers.RepeatedCompositeFieldContainer[DeliveryAttempt]
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., document_kind: _Optional[str] = ..., document_id: _Optional[str] = ..., document_number: _Optional[str] = ..., customer_id: _Optional[str] = ..., recipients: _Optional[_Iterable[str]] = ..., state: _Optional[str] = ..., attempts: _Optional[int] = ..., next_attempt_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., sent_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., message_id: _Optional[str] = ..., log: _Optional[_Iterable[_Union[DeliveryAttempt, _Mapping]]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListDeliveriesResponse(_message.Message):
    __slots__ = ("deliveries", "page")
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    deliveries: _containers.RepeatedCompositeFieldContainer[Delivery]
    page: _pagination_pb2.PageResponse
    def __init__(self, deliveries: _Optional[_Iterable[_Union[Delivery, _Mapping]]] = ..., page: _Optional[_Union[_pagination_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class ResendDocumentRequest(_message.Message):
    __slots__ = ("document_id",)
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    document_id: str
    def __init__(self, document_id: _Optional[str] = ...) -> None: ...

class ResendDocumentResponse(_message.Message):
    __slots__ = ("delivery",)
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    delivery: Delivery
    def __init__(self, delivery: _Optional[_Union[Delivery, _Mapping]] = ...) -> None: ...
