import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tally.api.catalog.v1 import catalog_service_pb2 as _catalog_service_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class QuoteAccepted(_message.Message):
    __slots__ = ("quote_id", "quote_version", "customer_id", "plan_version_id", "overrides", "start_at", "billing_cycle", "term_months", "accepted_at", "quote_number")
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    QUOTE_VERSION_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    PLAN_VERSION_ID_FIELD_NUMBER: _ClassVar[int]
    OVERRIDES_FIELD_NUMBER: _ClassVar[int]
    START_AT_FIELD_NUMBER: _ClassVar[int]
    BILLING_CYCLE_FIELD_NUMBER: _ClassVar[int]
    TERM_MONTHS_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_AT_FIELD_NUMBER: _ClassVar[int]
    QUOTE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    quote_id: str
    quote_version: int
    customer_id: str
    plan_version_id: str
    overrides: _containers.RepeatedCompositeFieldContainer[_catalog_service_pb2.PriceOverride]
    start_at: _timestamp_pb2.Timestamp
    billing_cycle: _catalog_service_pb2.BillingCycle
    term_months: int
    accepted_at: _timestamp_pb2.Timestamp
    quote_number: str
    def __init__(self, quote_id: _Optional[str] = ..., quote_version: _Optional[int] = ..., customer_id: _Optional[str] = ..., plan_version_id: _Optional[str] = ..., overrides: _Optional[_Iterable[_Union[_catalog_service_pb2.PriceOverride, _Mapping]]] = ..., start_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., billing_cycle: _Optional[_Union[_catalog_service_pb2.BillingCycle, str]] = ..., term_months: _Optional[int] = ..., accepted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., quote_number: _Optional[str] = ...) -> None: ...
