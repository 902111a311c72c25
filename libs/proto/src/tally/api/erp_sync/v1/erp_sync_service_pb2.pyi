import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
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

class Erp(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ERP_UNSPECIFIED: _ClassVar[Erp]
    ERP_NETSUITE: _ClassVar[Erp]
    ERP_SAGE_INTACCT: _ClassVar[Erp]

class DocumentKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DOCUMENT_KIND_UNSPECIFIED: _ClassVar[DocumentKind]
    DOCUMENT_KIND_INVOICE: _ClassVar[DocumentKind]
    DOCUMENT_KIND_CREDIT_NOTE: _ClassVar[DocumentKind]
    DOCUMENT_KIND_PAYMENT: _ClassVar[DocumentKind]
    DOCUMENT_KIND_CUSTOMER: _ClassVar[DocumentKind]

class SyncState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SYNC_STATE_UNSPECIFIED: _ClassVar[SyncState]
    SYNC_STATE_PENDING: _ClassVar[SyncState]
    SYNC_STATE_SENDING: _ClassVar[SyncState]
    SYNC_STATE_POSTED: _ClassVar[SyncState]
    SYNC_STATE_FAILED: _ClassVar[SyncState]

class MismatchKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MISMATCH_KIND_UNSPECIFIED: _ClassVar[MismatchKind]
    MISMATCH_KIND_MISSING_IN_ERP: _ClassVar[MismatchKind]
    MISMATCH_KIND_MISSING_IN_TALLY: _ClassVar[MismatchKind]
    MISMATCH_KIND_AMOUNT_DIFFERS: _ClassVar[MismatchKind]
    MISMATCH_KIND_STATUS_DIFFERS: _ClassVar[MismatchKind]
ERP_UNSPECIFIED: Erp
ERP_NETSUITE: Erp
ERP_SAGE_INTACCT: Erp
DOCUMENT_KIND_UNSPECIFIED: DocumentKind
DOCUMENT_KIND_INVOICE: DocumentKind
DOCUMENT_KIND_CREDIT_NOTE: DocumentKind
DOCUMENT_KIND_PAYMENT: DocumentKind
DOCUMENT_KIND_CUSTOMER: DocumentKind
SYNC_STATE_UNSPECIFIED: SyncState
SYNC_STATE_PENDING: SyncState
SYNC_STATE_SENDING: SyncState
SYNC_STATE_POSTED: SyncState
SYNC_STATE_FAILED: SyncState
MISMATCH_KIND_UNSPECIFIED: MismatchKind
MISMATCH_KIND_MISSING_IN_ERP: MismatchKind
MISMATCH_KIND_MISSING_IN_TALLY: MismatchKind
MISMATCH_KIND_AMOUNT_DIFFERS: MismatchKind
MISMATCH_KIND_STATUS_DIFFERS: MismatchKind

class SyncRecord(_message.Message):
    __slots__ = ("id", "erp", "document_kind", "document_id", "erp_key", "erp_internal_id", "state", "attempts", "last_error", "updated_at", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    ERP_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_KIND_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    ERP_KEY_FIELD_NUMBER: _ClassVar[int]
    ERP_INTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    erp: Erp
    document_kind: DocumentKind
    document_id: str
    erp_key: str
    erp_internal_id: str
    state: SyncState
    attempts: int
    last_error: str
    updated_at: _timestamp_pb2.Timestamp
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., erp: _Optional[_Union[Erp, str]] = ..., document_kind: _Optional[_Union[DocumentKind, str]] = ..., document_id: _Optional[str] = ..., erp_key: _Optional[str] = ..., erp_internal_id: _Optional[str] = ..., state: _Optional[_Union[SyncState, str]] = ..., attempts: _Optional[int] = ..., last_error: _Optional[str] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetSyncStatusRequest(_message.Message):
    __slots__ = ("document_kind", "document_id")
    DOCUMENT_KIND_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    document_kind: DocumentKind
    document_id: str
    def __init__(self, document_kind: _Optional[_Union[DocumentKind, str]] = ..., document_id: _Optional[str] = ...) -> None: ...

class GetSyncStatusResponse(_message.Message):
    __slots__ = ("records",)
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[SyncRecord]
    def __init__(self, records: _Optional[_Iterable[_Union[SyncRecord, _Mapping]]] = ...) -> None: ...

class ListSyncRecordsRequest(_message.Message):
    __slots__ = ("erp", "state", "document_kind", "page")
    ERP_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_KIND_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    erp: Erp
    state: SyncState
    document_kind: DocumentKind
    page: _pagination_pb2.PageRequest
    def __init__(self, erp: _Optional[_Union[Erp, str]] = ..., state: _Optional[_Union[SyncState, str]] = ..., document_kind: _Optional[_Union[DocumentKind, str]] = ..., page: _Optional[_Union[_pagination_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class ListSyncRecordsResponse(_message.Message):
    __slots__ = ("records", "page")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[SyncRecord]
    page: _pagination_pb2.PageResponse
    def __init__(self, records: _Optional[_Iterable[_Union[SyncRecord, _Mapping]]] = ..., page: _Optional[_Union[_pagination_pb2.PageResponse, _Mapping]] = ...) -> None: ...

class RetrySyncRequest(_message.Message):
    __slots__ = ("sync_record_id",)
    SYNC_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    sync_record_id: str
    def __init__(self, sync_record_id: _Optional[str] = ...) -> None: ...

class RetrySyncResponse(_message.Message):
    __slots__ = ("record",)
    RECORD_FIELD_NUMBER: _ClassVar[int]
    record: SyncRecord
    def __init__(self, record: _Optional[_Union[SyncRecord, _Mapping]] = ...) -> None: ...

class ReconcileRequest(_message.Message):
    __slots__ = ("erp", "period")
    ERP_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    erp: Erp
    period: _period_pb2.Period
    def __init__(self, erp: _Optional[_Union[Erp, str]] = ..., period: _Optional[_Union[_period_pb2.Period, _Mapping]] = ...) -> None: ...

class ReconcileResponse(_message.Message):
    __slots__ = ("documents_checked", "mismatches")
    DOCUMENTS_CHECKED_FIELD_NUMBER: _ClassVar[int]
    MISMATCHES_FIELD_NUMBER: _ClassVar[int]
    documents_checked: int
    mismatches: _containers.RepeatedCompositeFieldContainer[ReconciliationMismatch]
    def __init__(self, documents_checked: _Optional[int] = ..., mismatches: _Optional[_Iterable[_Union[ReconciliationMismatch, _Mapping]]] = ...) -> None: ...

class ReconciliationMismatch(_message.Message):
    __slots__ = ("kind", "document_kind", "document_id", "document_number", "erp_key", "tally_amount", "erp_amount", "detail")
    KIND_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_KIND_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ERP_KEY_FIELD_NUMBER: _ClassVar[int]
    TALLY_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    ERP_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    kind: MismatchKind
    document_kind: DocumentKind
    document_id: str
    document_number: str
    erp_key: str
    tally_amount: _money_pb2.Money
    erp_amount: _money_pb2.Money
    detail: str
    def __init__(self, kind: _Optional[_Union[MismatchKind, str]] = ..., document_kind: _Optional[_Union[DocumentKind, str]] = ..., document_id: _Optional[str] = ..., document_number: _Optional[str] = ..., erp_key: _Optional[str] = ..., tally_amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., erp_amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., detail: _Optional[str] = ...) -> None: ...

class GetSyncSummaryRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetSyncSummaryResponse(_message.Message):
    __slots__ = ("counts", "payments", "unconfigured")
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    PAYMENTS_FIELD_NUMBER: _ClassVar[int]
    UNCONFIGURED_FIELD_NUMBER: _ClassVar[int]
    counts: _containers.RepeatedCompositeFieldContainer[SyncCount]
    payments: _containers.RepeatedCompositeFieldContainer[PaymentCount]
    unconfigured: _containers.RepeatedScalarFieldContainer[Erp]
    def __init__(self, counts: _Optional[_Iterable[_Union[SyncCount, _Mapping]]] = ..., payments: _Optional[_Iterable[_Union[PaymentCount, _Mapping]]] = ..., unconfigured: _Optional[_Iterable[_Union[Erp, str]]] = ...) -> None: ...

class SyncCount(_message.Message):
    __slots__ = ("erp", "state", "records", "retried")
    ERP_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    RETRIED_FIELD_NUMBER: _ClassVar[int]
    erp: Erp
    state: SyncState
    records: int
    retried: int
    def __init__(self, erp: _Optional[_Union[Erp, str]] = ..., state: _Optional[_Union[SyncState, str]] = ..., records: _Optional[int] = ..., retried: _Optional[int] = ...) -> None: ...

class PaymentCount(_message.Message):
    __slots__ = ("erp", "payments")
    ERP_FIELD_NUMBER: _ClassVar[int]
    PAYMENTS_FIELD_NUMBER: _ClassVar[int]
    erp: Erp
    payments: int
    def __init__(self, erp: _Optional[_Union[Erp, str]] = ..., payments: _Optional[int] = ...) -> None: ...
