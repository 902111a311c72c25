import datetime

from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tally.api.common.v1 import pagination_pb2 as _pagination_pb2
from tally.api.common.v1 import period_pb2 as _period_pb2
from tally.api.ingestion.v1 import events_pb2 as _events_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Aggregation(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AGGREGATION_UNSPECIFIED: _ClassVar[Aggregation]
    AGGREGATION_COUNT: _ClassVar[Aggregation]
    AGGREGATION_SUM: _ClassVar[Aggregation]
    AGGREGATION_MAX: _ClassVar[Aggregation]
    AGGREGATION_MIN: _ClassVar[Aggregation]
    AGGREGATION_AVG: _ClassVar[Aggregation]
    AGGREGATION_LATEST: _ClassVar[Aggregation]
    AGGREGATION_UNIQUE_COUNT: _ClassVar[Aggregation]
    AGGREGATION_WEIGHTED_SUM: _ClassVar[Aggregation]

class FilterOperator(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FILTER_OPERATOR_UNSPECIFIED: _ClassVar[FilterOperator]
    FILTER_OPERATOR_EQUALS: _ClassVar[FilterOperator]
    FILTER_OPERATOR_NOT_EQUALS: _ClassVar[FilterOperator]
    FILTER_OPERATOR_IN: _ClassVar[FilterOperator]
    FILTER_OPERATOR_EXISTS: _ClassVar[FilterOperator]

class Window(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WINDOW_UNSPECIFIED: _ClassVar[Window]
    WINDOW_MINUTE: _ClassVar[Window]
    WINDOW_HOUR: _ClassVar[Window]
    WINDOW_DAY: _ClassVar[Window]
    WINDOW_MONTH: _ClassVar[Window]
AGGREGATION_UNSPECIFIED: Aggregation
AGGREGATION_COUNT: Aggregation
AGGREGATION_SUM: Aggregation
AGGREGATION_MAX: Aggregation
AGGREGATION_MIN: Aggregation
AGGREGATION_AVG: Aggregation
AGGREGATION_LATEST: Aggregation
AGGREGATION_UNIQUE_COUNT: Aggregation
AGGREGATION_WEIGHTED_SUM: Aggregation
FILTER_OPERATOR_UNSPECIFIED: FilterOperator
FILTER_OPERATOR_EQUALS: FilterOperator
FILTER_OPERATOR_NOT_EQUALS: FilterOperator
FILTER_OPERATOR_IN: FilterOperator
FILTER_OPERATOR_EXISTS: FilterOperator
WINDOW_UNSPECIFIED: Window
WINDOW_MINUTE: Window
WINDOW_HOUR: Window
WINDOW_DAY: Window
WINDOW_MONTH: Window

class PropertyFilter(_message.Message):
    __slots__ = ("property", "operator", "values")
    PROPERTY_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    property: str
    operator: FilterOperator
    values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, property: _Optional[str] = ..., operator: _Optional[_Union[FilterOperator, str]] = ..., values: _Optional[_Iterable[str]] = ...) -> None: ...

class Meter(_message.Message):
    __slots__ = ("id", "key", "name", "event_type", "aggregation", "value_property", "filters", "group_by", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    AGGREGATION_FIELD_NUMBER: _ClassVar[int]
    VALUE_PROPERTY_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    key: str
    name: str
    event_type: str
    aggregation: Aggregation
    value_property: str
    filters: _containers.RepeatedCompositeFieldContainer[PropertyFilter]
    group_by: _containers.RepeatedScalarFieldContainer[str]
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., key: _Optional[str] = ..., name: _Optional[str] = ..., event_type: _Optional[str] = ..., aggregation: _Optional[_Union[Aggregation, str]] = ..., value_property: _Optional[str] = ..., filters: _Optional[_Iterable[_Union[PropertyFilter, _Mapping]]] = ..., group_by: _Optional[_Iterable[str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateMeterRequest(_message.Message):
    __slots__ = ("meter",)
    METER_FIELD_NUMBER: _ClassVar[int]
    meter: Meter
    def __init__(self, meter: _Optional[_Union[Meter, _Mapping]] = ...) -> None: ...

class CreateMeterResponse(_message.Message):
    __slots__ = ("meter",)
    METER_FIELD_NUMBER: _ClassVar[int]
    meter: Meter
    def __init__(self, meter: _Optional[_Union[Meter, _Mapping]] = ...) -> None: ...

class UpdateMeterRequest(_message.Message):
    __slots__ = ("meter", "update_mask")
    METER_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    meter: Meter
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, meter: _Optional[_Union[Meter, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateMeterResponse(_message.Message):
    __slots__ = ("meter",)
    METER_FIELD_NUMBER: _ClassVar[int]
    meter: Meter
    def __init__(self, meter: _Optional[_Union[Meter, _Mapping]] = ...) -> None: ...

class GetMeterRequest(_message.Message):
    __slots__ = ("meter_id",)
    METER_ID_FIELD_NUMBER: _ClassVar[int]
    meter_id: str
    def __init__(self, meter_id: _Optional[str] = ...) -> None: ...

class GetMeterResponse(_message.Message):
    __slots__ = ("meter",)
    METER_FIELD_NUMBER: _ClassVar[int]
    meter: Meter
    def __init__(self, meter: _Optional[_Union[Meter, _Mapping]] = ...) -> None: ...

class ListMetersRequest(_message.Message):
    __slots__ = ("page",)
    PAGE_FIELD_NUMBER: _ClassVar[int]
    page: _pagination_pb2.PageRequest
    def __init__(self, page: _Optional[_Union[_pagination_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListMetersResponse(_message.Message):
    __slots__ = ("meters", "page")
    METERS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    meters: _containers.RepeatedCompositeFieldContainer[Meter]
    page: _pagination_pb2.PageResponse
    def __init__(self, meters: _Optional[_Iterable[_Union[Meter, _Mapping]]] = ..., page: _Optional[_Union[_pagination_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class GetUsageRequest(_message.Message):
    __slots__ = ("customer", "meter_id", "period", "window", "group_by")
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    METER_ID_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    customer: str
    meter_id: str
    period: _period_pb2.Period
    window: Window
    group_by: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, customer: _Optional[str] = ..., meter_id: _Optional[str] = ..., period: _Optional[_Union[_period_pb2.Period, _Mapping]] = ..., window: _Optional[_Union[Window, str]] = ..., group_by: _Optional[_Iterable[str]] = ...) -> None: ...

class GetUsageResponse(_message.Message):
    __slots__ = ("buckets",)
    BUCKETS_FIELD_NUMBER: _ClassVar[int]
    buckets: _containers.RepeatedCompositeFieldContainer[UsageBucket]
    def __init__(self, buckets: _Optional[_Iterable[_Union[UsageBucket, _Mapping]]] = ...) -> None: ...

class UsageBucket(_message.Message):
    __slots__ = ("window", "group", "quantity")
    class GroupEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    window: _period_pb2.Period
    group: _containers.ScalarMap[str, str]
    quantity: str
    def __init__(self, window: _Optional[_Union[_period_pb2.Period, _Mapping]] = ..., group: _Optional[_Mapping[str, str]] = ..., quantity: _Optional[str] = ...) -> None: ...

class UsageQuery(_message.Message):
    __slots__ = ("customer", "meter_id", "period", "window", "group_by")
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    METER_ID_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    customer: str
    meter_id: str
    period: _period_pb2.Period
    window: Window
    group_by: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, customer: _Optional[str] = ..., meter_id: _Optional[str] = ..., period: _Optional[_Union[_period_pb2.Period, _Mapping]] = ..., window: _Optional[_Union[Window, str]] = ..., group_by: _Optional[_Iterable[str]] = ...) -> None: ...

class BatchGetUsageRequest(_message.Message):
    __slots__ = ("queries",)
    QUERIES_FIELD_NUMBER: _ClassVar[int]
    queries: _containers.RepeatedCompositeFieldContainer[UsageQuery]
    def __init__(self, queries: _Optional[_Iterable[_Union[UsageQuery, _Mapping]]] = ...) -> None: ...

class BatchGetUsageResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[UsageResult]
    def __init__(self, results: _Optional[_Iterable[_Union[UsageResult, _Mapping]]] = ...) -> None: ...

class UsageResult(_message.Message):
    __slots__ = ("query", "buckets")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    BUCKETS_FIELD_NUMBER: _ClassVar[int]
    query: UsageQuery
    buckets: _containers.RepeatedCompositeFieldContainer[UsageBucket]
    def __init__(self, query: _Optional[_Union[UsageQuery, _Mapping]] = ..., buckets: _Optional[_Iterable[_Union[UsageBucket, _Mapping]]] = ...) -> None: ...

class ListEventsRequest(_message.Message):
    __slots__ = ("customer", "period", "event_type", "include_voided", "page")
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_VOIDED_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    customer: str
    period: _period_pb2.Period
    event_type: str
    include_voided: bool
    page: _pagination_pb2.PageRequest
    def __init__(self, customer: _Optional[str] = ..., period: _Optional[_Union[_period_pb2.Period, _Mapping]] = ..., event_type: _Optional[str] = ..., include_voided: _Optional[bool] = ..., page: _Optional[_Union[_pagination_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListEventsResponse(_message.Message):
    __slots__ = ("events", "page")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[StoredEvent]
    page: _pagination_pb2.PageResponse
    def __init__(self, events: _Optional[_Iterable[_Union[StoredEvent, _Mapping]]] = ..., page: _Optional[_Union[_pagination_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class ListMeterValuesRequest(_message.Message):
    __slots__ = ("customer", "meter_id", "period", "page")
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    METER_ID_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    customer: str
    meter_id: str
    period: _period_pb2.Period
    page: _pagination_pb2.PageRequest
    def __init__(self, customer: _Optional[str] = ..., meter_id: _Optional[str] = ..., period: _Optional[_Union[_period_pb2.Period, _Mapping]] = ..., page: _Optional[_Union[_pagination_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListMeterValuesResponse(_message.Message):
    __slots__ = ("values", "page")
    VALUES_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[str]
    page: _pagination_pb2.PageResponse
    def __init__(self, values: _Optional[_Iterable[str]] = ..., page: _Optional[_Union[_pagination_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class StoredEvent(_message.Message):
    __slots__ = ("event", "producer_id", "batch_id", "received_at", "late", "amended", "voided")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    PRODUCER_ID_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    LATE_FIELD_NUMBER: _ClassVar[int]
    AMENDED_FIELD_NUMBER: _ClassVar[int]
    VOIDED_FIELD_NUMBER: _ClassVar[int]
    event: _events_pb2.UsageEvent
    producer_id: str
    batch_id: str
    received_at: _timestamp_pb2.Timestamp
    late: bool
    amended: bool
    voided: bool
    def __init__(self, event: _Optional[_Union[_events_pb2.UsageEvent, _Mapping]] = ..., producer_id: _Optional[str] = ..., batch_id: _Optional[str] = ..., received_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., late: _Optional[bool] = ..., amended: _Optional[bool] = ..., voided: _Optional[bool] = ...) -> None: ...

class AmendEventRequest(_message.Message):
    __slots__ = ("producer_id", "event_id", "properties", "reason")
    class PropertiesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PRODUCER_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    producer_id: str
    event_id: str
    properties: _containers.ScalarMap[str, str]
    reason: str
    def __init__(self, producer_id: _Optional[str] = ..., event_id: _Optional[str] = ..., properties: _Optional[_Mapping[str, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class AmendEventResponse(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: StoredEvent
    def __init__(self, event: _Optional[_Union[StoredEvent, _Mapping]] = ...) -> None: ...

class VoidEventRequest(_message.Message):
    __slots__ = ("producer_id", "event_id", "reason")
    PRODUCER_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    producer_id: str
    event_id: str
    reason: str
    def __init__(self, producer_id: _Optional[str] = ..., event_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class VoidEventResponse(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: StoredEvent
    def __init__(self, event: _Optional[_Union[StoredEvent, _Mapping]] = ...) -> None: ...

class RebuildRequest(_message.Message):
    __slots__ = ("meter_id",)
    METER_ID_FIELD_NUMBER: _ClassVar[int]
    meter_id: str
    def __init__(self, meter_id: _Optional[str] = ...) -> None: ...

class RebuildResponse(_message.Message):
    __slots__ = ("event_count", "rollup_count")
    EVENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    ROLLUP_COUNT_FIELD_NUMBER: _ClassVar[int]
    event_count: int
    rollup_count: int
    def __init__(self, event_count: _Optional[int] = ..., rollup_count: _Optional[int] = ...) -> None: ...

class ListQuarantinedRequest(_message.Message):
    __slots__ = ("producer_id", "page")
    PRODUCER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    producer_id: str
    page: _pagination_pb2.PageRequest
    def __init__(self, producer_id: _Optional[str] = ..., page: _Optional[_Union[_pagination_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListQuarantinedResponse(_message.Message):
    __slots__ = ("events", "page")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[QuarantinedEvent]
    page: _pagination_pb2.PageResponse
    def __init__(self, events: _Optional[_Iterable[_Union[QuarantinedEvent, _Mapping]]] = ..., page: _Optional[_Union[_pagination_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class QuarantinedEvent(_message.Message):
    __slots__ = ("event", "producer_id", "batch_id", "field", "reason", "quarantined_at")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    PRODUCER_ID_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    QUARANTINED_AT_FIELD_NUMBER: _ClassVar[int]
    event: _events_pb2.UsageEvent
    producer_id: str
    batch_id: str
    field: str
    reason: str
    quarantined_at: _timestamp_pb2.Timestamp
    def __init__(self, event: _Optional[_Union[_events_pb2.UsageEvent, _Mapping]] = ..., producer_id: _Optional[str] = ..., batch_id: _Optional[str] = ..., field: _Optional[str] = ..., reason: _Optional[str] = ..., quarantined_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetUsageWatermarkRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetUsageWatermarkResponse(_message.Message):
    __slots__ = ("watermark",)
    WATERMARK_FIELD_NUMBER: _ClassVar[int]
    watermark: int
    def __init__(self, watermark: _Optional[int] = ...) -> None: ...

class ListConflictsRequest(_message.Message):
    __slots__ = ("producer_id", "page")
    PRODUCER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    producer_id: str
    page: _pagination_pb2.PageRequest
    def __init__(self, producer_id: _Optional[str] = ..., page: _Optional[_Union[_pagination_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListConflictsResponse(_message.Message):
    __slots__ = ("conflicts", "page")
    CONFLICTS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    conflicts: _containers.RepeatedCompositeFieldContainer[EventConflict]
    page: _pagination_pb2.PageResponse
    def __init__(self, conflicts: _Optional[_Iterable[_Union[EventConflict, _Mapping]]] = ..., page: _Optional[_Union[_pagination_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class EventConflict(_message.Message):
    __slots__ = ("received", "producer_id", "batch_id", "detected_at")
    RECEIVED_FIELD_NUMBER: _ClassVar[int]
    PRODUCER_ID_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    DETECTED_AT_FIELD_NUMBER: _ClassVar[int]
    received: _events_pb2.UsageEvent
    producer_id: str
    batch_id: str
    detected_at: _timestamp_pb2.Timestamp
    def __init__(self, received: _Optional[_Union[_events_pb2.UsageEvent, _Mapping]] = ..., producer_id: _Optional[str] = ..., batch_id: _Optional[str] = ..., detected_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
