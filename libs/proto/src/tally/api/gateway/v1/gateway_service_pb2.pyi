import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CustomerKey(_message.Message):
    __slots__ = ("id", "customer_id", "customer_external_id", "name", "prefix", "created_at", "revoked_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    customer_id: str
    customer_external_id: str
    name: str
    prefix: str
    created_at: _timestamp_pb2.Timestamp
    revoked_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., customer_id: _Optional[str] = ..., customer_external_id: _Optional[str] = ..., name: _Optional[str] = ..., prefix: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revoked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateCustomerKeyRequest(_message.Message):
    __slots__ = ("customer", "name")
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    customer: str
    name: str
    def __init__(self, customer: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class CreateCustomerKeyResponse(_message.Message):
    __slots__ = ("key", "secret")
    KEY_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    key: CustomerKey
    secret: str
    def __init__(self, key: _Optional[_Union[CustomerKey, _Mapping]] = ..., secret: _Optional[str] = ...) -> None: ...

class ListCustomerKeysRequest(_message.Message):
    __slots__ = ("customer", "include_revoked")
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_REVOKED_FIELD_NUMBER: _ClassVar[int]
    customer: str
    include_revoked: bool
    def __init__(self, customer: _Optional[str] = ..., include_revoked: _Optional[bool] = ...) -> None: ...

class ListCustomerKeysResponse(_message.Message):
    __slots__ = ("keys",)
    KEYS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedCompositeFieldContainer[CustomerKey]
    def __init__(self, keys: _Optional[_Iterable[_Union[CustomerKey, _Mapping]]] = ...) -> None: ...

class RevokeCustomerKeyRequest(_message.Message):
    __slots__ = ("key_id",)
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    def __init__(self, key_id: _Optional[str] = ...) -> None: ...

class RevokeCustomerKeyResponse(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: CustomerKey
    def __init__(self, key: _Optional[_Union[CustomerKey, _Mapping]] = ...) -> None: ...

class CreatePortalLinkRequest(_message.Message):
    __slots__ = ("customer", "ttl_seconds")
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    customer: str
    ttl_seconds: int
    def __init__(self, customer: _Optional[str] = ..., ttl_seconds: _Optional[int] = ...) -> None: ...

class CreatePortalLinkResponse(_message.Message):
    __slots__ = ("url", "expires_at", "customer_id")
    URL_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    url: str
    expires_at: _timestamp_pb2.Timestamp
    customer_id: str
    def __init__(self, url: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., customer_id: _Optional[str] = ...) -> None: ...
