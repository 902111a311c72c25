"""Reflection v1 as grpcurl uses it: `list`, then `describe` of a method, against a running service process.

The requests and replies are encoded with grpcio-reflection's messages: v1 and v1alpha define the same messages
field for field, so the bytes on the wire are the same; what differs is the method path, which is v1's here.
"""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_reflection.v1alpha import reflection_pb2

from tally.testing.databases import sqlite_url
from tally.testing.services import ServiceProcess

V1_METHOD = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"


class V1Reflection:
    """A reflection client over the v1 method path: what grpcurl does for `list` and `describe`."""

    def __init__(self, channel: grpc.Channel) -> None:
        self._call = channel.stream_stream(
            V1_METHOD,
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
        )

    def ask(self, **request: str) -> reflection_pb2.ServerReflectionResponse:
        (reply,) = self._call(iter([reflection_pb2.ServerReflectionRequest(**request)]), timeout=5)
        assert not reply.HasField("error_response"), reply.error_response
        return reply

    def list(self) -> list[str]:
        return sorted(s.name for s in self.ask(list_services="").list_services_response.service)

    def describe(self, symbol: str) -> descriptor_pool.DescriptorPool:
        """A pool holding the file that defines ``symbol`` and everything it imports, fetched by reflection."""
        pool = descriptor_pool.DescriptorPool()
        files: dict[str, descriptor_pb2.FileDescriptorProto] = {}

        def add(reply: reflection_pb2.ServerReflectionResponse) -> None:
            for raw in reply.file_descriptor_response.file_descriptor_proto:
                proto = descriptor_pb2.FileDescriptorProto.FromString(raw)
                files.setdefault(proto.name, proto)

        add(self.ask(file_containing_symbol=symbol))
        missing = [d for f in files.values() for d in f.dependency if d not in files]
        while missing:
            add(self.ask(file_by_filename=missing.pop()))
            missing = [d for f in files.values() for d in f.dependency if d not in files]
        added: set[str] = set()

        def add_in_order(name: str) -> None:
            if name in added:
                return
            for dependency in files[name].dependency:
                add_in_order(dependency)
            pool.Add(files[name])
            added.add(name)

        for name in list(files):
            add_in_order(name)
        return pool


@pytest.fixture
def quoting(tmp_path, nats_server):
    service = ServiceProcess(
        "quoting", "tally.quoting", sqlite_url(tmp_path), nats_server.url, tmp_path / "q"
    )
    service.start()
    yield service
    service.kill()


def test_grpcurl_list_and_describe_work_through_reflection_v1(quoting: ServiceProcess) -> None:
    with grpc.insecure_channel(quoting.target) as channel:
        reflection = V1Reflection(channel)
        assert reflection.list() == [
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
            "tally.api.quoting.v1.QuotingService",
        ]
        pool = reflection.describe("tally.api.quoting.v1.QuotingService.CreateQuote")
        method = pool.FindMethodByName("tally.api.quoting.v1.QuotingService.CreateQuote")
        assert method.input_type.full_name == "tally.api.quoting.v1.CreateQuoteRequest"
        assert method.output_type.full_name == "tally.api.quoting.v1.CreateQuoteResponse"
        assert "quote" in method.input_type.fields_by_name

        # Reflection describes itself under its v1 name too.
        itself = reflection.describe("grpc.reflection.v1.ServerReflection")
        info = itself.FindMethodByName("grpc.reflection.v1.ServerReflection.ServerReflectionInfo")
        assert info.input_type.full_name == "grpc.reflection.v1.ServerReflectionRequest"
        assert info.client_streaming and info.server_streaming


def test_an_unknown_symbol_is_an_error_reply_not_a_broken_stream(quoting: ServiceProcess) -> None:
    with grpc.insecure_channel(quoting.target) as channel:
        call = channel.stream_stream(
            V1_METHOD,
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
        )
        (reply,) = call(
            iter([reflection_pb2.ServerReflectionRequest(file_containing_symbol="tally.api.nope.v1.Nope")]),
            timeout=5,
        )
    assert reply.error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0]
