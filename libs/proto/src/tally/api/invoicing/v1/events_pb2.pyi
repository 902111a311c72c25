import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tally.api.common.v1 import money_pb2 as _money_pb2
from tally.api.common.v1 import period_pb2 as _period_pb2
from tally.api.invoicing.v1 import invoicing_service_pb2 as _invoicing_service_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class InvoiceFinalized(_message.Message):
    __slots__ = ("invoice",)
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    invoice: _invoicing_service_pb2.Invoice
    def __init__(self, invoice: _Optional[_Union[_invoicing_service_pb2.Invoice, _Mapping]] = ...) -> None: ...

class InvoicePaid(_message.Message):
    __slots__ = ("invoice",)
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    invoice: _invoicing_service_pb2.Invoice
    def __init__(self, invoice: _Optional[_Union[_invoicing_service_pb2.Invoice, _Mapping]] = ...) -> None: ...

class CreditNoteIssued(_message.Message):
    __slots__ = ("credit_note",)
    CREDIT_NOTE_FIELD_NUMBER: _ClassVar[int]
    credit_note: _invoicing_service_pb2.CreditNote
    def __init__(self, credit_note: _Optional[_Union[_invoicing_service_pb2.CreditNote, _Mapping]] = ...) -> None: ...

class SpendAlertTriggered(_message.Message):
    __slots__ = ("customer_id", "subscription_id", "threshold", "spend", "period", "triggered_at")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    SPEND_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    TRIGGERED_AT_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    subscription_id: str
    threshold: _money_pb2.Money
    spend: _money_pb2.Money
    period: _period_pb2.Period
    triggered_at: _timestamp_pb2.Timestamp
    def __init__(self, customer_id: _Optional[str] = ..., subscription_id: _Optional[str] = ..., threshold: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., spend: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., period: _Optional[_Union[_period_pb2.Period, _Mapping]] = ..., triggered_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UsageAlertTriggered(_message.Message):
    __slots__ = ("customer_id", "subscription_id", "charge_id", "meter_id", "threshold", "quantity", "period", "triggered_at")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    CHARGE_ID_FIELD_NUMBER: _ClassVar[int]
    METER_ID_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    TRIGGERED_AT_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    subscription_id: str
    charge_id: str
    meter_id: str
    threshold: str
    quantity: str
    period: _period_pb2.Period
    triggered_at: _timestamp_pb2.Timestamp
    def __init__(self, customer_id: _Optional[str] = ..., subscription_id: _Optional[str] = ..., charge_id: _Optional[str] = ..., meter_id: _Optional[str] = ..., threshold: _Optional[str] = ..., quantity: _Optional[str] = ..., period: _Optional[_Union[_period_pb2.Period, _Mapping]] = ..., triggered_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
