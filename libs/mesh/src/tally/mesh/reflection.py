"""Server reflection under both names clients use: ``grpc.reflection.v1`` and ``grpc.reflection.v1alpha``.

grpcio-reflection serves v1alpha only, while grpcurl and current clients ask v1 first. The two protocols are
the same messages under another package (field for field, so byte for byte on the wire): one servicer answers
both, and the v1 file is added to the descriptor pool so reflection can describe itself under either name.
`grpcurl describe pkg.Service.Method` asks for the file of a method, which Python's descriptor pool cannot
find by name: the pool is wrapped to answer with the file of the method's service.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc
import grpc.aio
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_reflection.v1alpha import reflection, reflection_pb2

__all__ = ["V1ALPHA_SERVICE_NAME", "V1_SERVICE_NAME", "enable"]

V1ALPHA_SERVICE_NAME = reflection.SERVICE_NAME
V1_PACKAGE = "grpc.reflection.v1"
V1_SERVICE_NAME = f"{V1_PACKAGE}.ServerReflection"
_V1_FILE = "grpc/reflection/v1/reflection.proto"


def _v1_file() -> descriptor_pb2.FileDescriptorProto:
    """The v1alpha file with its package renamed to v1 (the v1 protocol's definition)."""
    source = reflection_pb2.DESCRIPTOR
    renamed = descriptor_pb2.FileDescriptorProto()
    source.CopyToProto(renamed)
    old, new = f".{source.package}.", f".{V1_PACKAGE}."
    renamed.name = _V1_FILE
    renamed.package = V1_PACKAGE
    renamed.ClearField("options")  # language options (java_package...) name the v1alpha packages
    for message in renamed.message_type:
        for field in message.field:
            if field.type_name.startswith(old):
                field.type_name = new + field.type_name.removeprefix(old)
    for service in renamed.service:
        for method in service.method:
            method.input_type = new + method.input_type.removeprefix(old)
            method.output_type = new + method.output_type.removeprefix(old)
    return renamed


def _ensure_v1_descriptor(pool: descriptor_pool.DescriptorPool) -> None:
    try:
        pool.FindFileByName(_V1_FILE)
    except KeyError:
        pool.AddSerializedFile(_v1_file().SerializeToString())


class _MethodAwarePool:
    """The descriptor pool, also finding the file that defines a method (``pkg.Service.Method``)."""

    def __init__(self, pool: descriptor_pool.DescriptorPool) -> None:
        self._pool = pool

    def FindFileContainingSymbol(self, symbol: str) -> Any:
        try:
            return self._pool.FindFileContainingSymbol(symbol)
        except KeyError:
            service, _, method = symbol.rpartition(".")
            if service and method in self._pool.FindServiceByName(service).methods_by_name:
                return self._pool.FindFileContainingSymbol(service)
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)


def enable(service_names: Sequence[str], server: grpc.aio.Server) -> None:
    """Serve reflection for ``service_names`` (plus health and reflection itself) as v1 and v1alpha."""
    pool = descriptor_pool.Default()
    _ensure_v1_descriptor(pool)
    servicer = reflection.aio.ReflectionServicer(
        [*service_names, V1_SERVICE_NAME, V1ALPHA_SERVICE_NAME], pool=_MethodAwarePool(pool)
    )
    for name in (V1_SERVICE_NAME, V1ALPHA_SERVICE_NAME):
        server.add_generic_rpc_handlers(
            (
                grpc.method_handlers_generic_handler(
                    name,
                    {
                        "ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(
                            servicer.ServerReflectionInfo,
                            request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
                            response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
                        )
                    },
                ),
            )
        )
