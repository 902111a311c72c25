import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tally.api.common.v1 import money_pb2 as _money_pb2
from tally.api.erp_sync.v1 import erp_sync_service_pb2 as _erp_sync_service_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PaymentRecorded(_message.Message):
    __slots__ = ("payment_id", "erp", "invoice_id", "invoice_number", "amount", "received_at", "erp_reference")
    PAYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    ERP_FIELD_NUMBER: _ClassVar[int]
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    INVOICE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    ERP_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    payment_id: str
    erp: _erp_sync_service_pb2.Erp
    invoice_id: str
    invoice_number: str
    amount: _money_pb2.Money
    received_at: _timestamp_pb2.Timestamp
    erp_reference: str
    def __init__(self, payment_id: _Optional[str] = ..., erp: _Optional[_Union[_erp_sync_service_pb2.Erp, str]] = ..., invoice_id: _Optional[str] = ..., invoice_number: _Optional[str] = ..., amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., received_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., erp_reference: _Optional[str] = ...) -> None: ...
