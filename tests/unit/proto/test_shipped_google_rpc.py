"""The google/rpc protos shipped in proto/ for other languages are the very contracts the Python side uses
(googleapis-common-protos): same messages, same fields, same numbers, so error details decode everywhere."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[3]


def compiled(tmp_path: Path, name: str) -> descriptor_pb2.FileDescriptorProto:
    out = tmp_path / "set.binpb"
    assert (
        protoc.main(
            [
                "grpc_tools.protoc",
                f"-I{ROOT / 'proto'}",
                f"-I{resources.files('grpc_tools') / '_proto'}",
                f"--descriptor_set_out={out}",
                name,
            ]
        )
        == 0
    )
    (file,) = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file
    return file


def without_json_names(file: descriptor_pb2.FileDescriptorProto) -> descriptor_pb2.FileDescriptorProto:
    """protoc writes each field's derived json_name into descriptor sets; the Python runtime does not."""

    def clear(messages) -> None:
        for message in messages:
            for field in message.field:
                field.ClearField("json_name")
            clear(message.nested_type)

    clear(file.message_type)
    return file


@pytest.mark.parametrize(
    ("name", "module"),
    [
        ("google/rpc/status.proto", status_pb2),
        ("google/rpc/error_details.proto", error_details_pb2),
        ("google/rpc/code.proto", code_pb2),
    ],
)
def test_the_shipped_proto_defines_what_python_uses(tmp_path: Path, name: str, module) -> None:
    used = descriptor_pb2.FileDescriptorProto()
    module.DESCRIPTOR.CopyToProto(used)
    shipped = without_json_names(compiled(tmp_path, name))
    assert shipped.package == used.package == "google.rpc"
    assert list(shipped.message_type) == list(used.message_type)
    assert list(shipped.enum_type) == list(used.enum_type)


def test_no_python_is_generated_for_them() -> None:
    generated = ROOT / "libs" / "proto" / "src"
    assert not list(generated.rglob("google/rpc/*_pb2.py"))
