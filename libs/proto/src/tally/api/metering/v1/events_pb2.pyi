import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tally.api.common.v1 import period_pb2 as _period_pb2
from tally.api.metering.v1 import metering_service_pb2 as _metering_service_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class LateCause(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LATE_CAUSE_UNSPECIFIED: _ClassVar[LateCause]
    LATE_CAUSE_ARRIVED: _ClassVar[LateCause]
    LATE_CAUSE_AMENDED: _ClassVar[LateCause]
    LATE_CAUSE_VOIDED: _ClassVar[LateCause]
LATE_CAUSE_UNSPECIFIED: LateCause
LATE_CAUSE_ARRIVED: LateCause
LATE_CAUSE_AMENDED: LateCause
LATE_CAUSE_VOIDED: LateCause

class UsageLate(_message.Message):
    __slots__ = ("customer", "meter_ids", "event_ids", "period", "producer_id", "cause", "detected_at")
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    METER_IDS_FIELD_NUMBER: _ClassVar[int]
    EVENT_IDS_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    PRODUCER_ID_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    DETECTED_AT_FIELD_NUMBER: _ClassVar[int]
    customer: str
    meter_ids: _containers.RepeatedScalarFieldContainer[str]
    event_ids: _containers.RepeatedScalarFieldContainer[str]
    period: _period_pb2.Period
    producer_id: str
    cause: LateCause
    detected_at: _timestamp_pb2.Timestamp
    def __init__(self, customer: _Optional[str] = ..., meter_ids: _Optional[_Iterable[str]] = ..., event_ids: _Optional[_Iterable[str]] = ..., period: _Optional[_Union[_period_pb2.Period, _Mapping]] = ..., producer_id: _Optional[str] = ..., cause: _Optional[_Union[LateCause, str]] = ..., detected_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UsageThresholdCrossed(_message.Message):
    __slots__ = ("customer", "meter_id", "threshold", "quantity", "period", "crossed_at")
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    METER_ID_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    CROSSED_AT_FIELD_NUMBER: _ClassVar[int]
    customer: str
    meter_id: str
    threshold: str
    quantity: str
    period: _period_pb2.Period
    crossed_at: _timestamp_pb2.Timestamp
    def __init__(self, customer: _Optional[str] = ..., meter_id: _Optional[str] = ..., threshold: _Optional[str] = ..., quantity: _Optional[str] = ..., period: _Optional[_Union[_period_pb2.Period, _Mapping]] = ..., crossed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class MeterChanged(_message.Message):
    __slots__ = ("meter_id", "key", "event_type", "aggregation", "value_property", "deleted", "changed_at")
    METER_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    AGGREGATION_FIELD_NUMBER: _ClassVar[int]
    VALUE_PROPERTY_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    meter_id: str
    key: str
    event_type: str
    aggregation: _metering_service_pb2.Aggregation
    value_property: str
    deleted: bool
    changed_at: _timestamp_pb2.Timestamp
    def __init__(self, meter_id: _Optional[str] = ..., key: _Optional[str] = ..., event_type: _Optional[str] = ..., aggregation: _Optional[_Union[_metering_service_pb2.Aggregation, str]] = ..., value_property: _Optional[str] = ..., deleted: _Optional[bool] = ..., changed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
