from tally.api.insights.v1 import insights_service_pb2 as _insights_service_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AnomalyDetected(_message.Message):
    __slots__ = ("anomaly",)
    ANOMALY_FIELD_NUMBER: _ClassVar[int]
    anomaly: _insights_service_pb2.Anomaly
    def __init__(self, anomaly: _Optional[_Union[_insights_service_pb2.Anomaly, _Mapping]] = ...) -> None: ...
