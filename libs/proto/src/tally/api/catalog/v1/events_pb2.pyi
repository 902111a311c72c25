import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tally.api.catalog.v1 import catalog_service_pb2 as _catalog_service_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SubscriptionChangeKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SUBSCRIPTION_CHANGE_KIND_UNSPECIFIED: _ClassVar[SubscriptionChangeKind]
    SUBSCRIPTION_CHANGE_KIND_CREATED: _ClassVar[SubscriptionChangeKind]
    SUBSCRIPTION_CHANGE_KIND_AMENDED: _ClassVar[SubscriptionChangeKind]
    SUBSCRIPTION_CHANGE_KIND_CANCELED: _ClassVar[SubscriptionChangeKind]
    SUBSCRIPTION_CHANGE_KIND_MIGRATED: _ClassVar[SubscriptionChangeKind]

class CustomerChangeKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CUSTOMER_CHANGE_KIND_UNSPECIFIED: _ClassVar[CustomerChangeKind]
    CUSTOMER_CHANGE_KIND_CREATED: _ClassVar[CustomerChangeKind]
    CUSTOMER_CHANGE_KIND_UPDATED: _ClassVar[CustomerChangeKind]
SUBSCRIPTION_CHANGE_KIND_UNSPECIFIED: SubscriptionChangeKind
SUBSCRIPTION_CHANGE_KIND_CREATED: SubscriptionChangeKind
SUBSCRIPTION_CHANGE_KIND_AMENDED: SubscriptionChangeKind
SUBSCRIPTION_CHANGE_KIND_CANCELED: SubscriptionChangeKind
SUBSCRIPTION_CHANGE_KIND_MIGRATED: SubscriptionChangeKind
CUSTOMER_CHANGE_KIND_UNSPECIFIED: CustomerChangeKind
CUSTOMER_CHANGE_KIND_CREATED: CustomerChangeKind
CUSTOMER_CHANGE_KIND_UPDATED: CustomerChangeKind

class SubscriptionChanged(_message.Message):
    __slots__ = ("subscription", "kind", "changed_at")
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    subscription: _catalog_service_pb2.Subscription
    kind: SubscriptionChangeKind
    changed_at: _timestamp_pb2.Timestamp
    def __init__(self, subscription: _Optional[_Union[_catalog_service_pb2.Subscription, _Mapping]] = ..., kind: _Optional[_Union[SubscriptionChangeKind, str]] = ..., changed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CustomerChanged(_message.Message):
    __slots__ = ("customer", "kind", "changed_at")
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    customer: _catalog_service_pb2.Customer
    kind: CustomerChangeKind
    changed_at: _timestamp_pb2.Timestamp
    def __init__(self, customer: _Optional[_Union[_catalog_service_pb2.Customer, _Mapping]] = ..., kind: _Optional[_Union[CustomerChangeKind, str]] = ..., changed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
