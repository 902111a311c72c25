import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tally.api.catalog.v1 import catalog_service_pb2 as _catalog_service_pb2
from tally.api.common.v1 import money_pb2 as _money_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class QuoteAccepted(_message.Message):
    __slots__ = ("quote_id", "quote_version", "customer_id", "accepted_at", "quote_number", "subscription", "prospect", "prepaid_credit")
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    QUOTE_VERSION_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_AT_FIELD_NUMBER: _ClassVar[int]
    QUOTE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PROSPECT_FIELD_NUMBER: _ClassVar[int]
    PREPAID_CREDIT_FIELD_NUMBER: _ClassVar[int]
    quote_id: str
    quote_version: int
    customer_id: str
    accepted_at: _timestamp_pb2.Timestamp
    quote_number: str
    subscription: _catalog_service_pb2.Subscription
    prospect: _catalog_service_pb2.Customer
    prepaid_credit: _money_pb2.Money
    def __init__(self, quote_id: _Optional[str] = ..., quote_version: _Optional[int] = ..., customer_id: _Optional[str] = ..., accepted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., quote_number: _Optional[str] = ..., subscription: _Optional[_Union[_catalog_service_pb2.Subscription, _Mapping]] = ..., prospect: _Optional[_Union[_catalog_service_pb2.Customer, _Mapping]] = ..., prepaid_credit: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...
