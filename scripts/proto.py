"""Generates the tally.api.* Python code from proto/ into libs/proto/src, or checks it is current.

Usage:
    .venv/bin/python scripts/proto.py           # regenerate libs/proto/src/tally/api
    .venv/bin/python scripts/proto.py --check   # exit 1 listing stale files if the tree is out of date

Every message, field, oneof, enum, enum value, service and RPC must carry a leading `//` comment;
generation fails, naming the element, when one does not.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from google.protobuf import descriptor_pb2
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "proto"
OUT_ROOT = ROOT / "libs" / "proto" / "src"
# The generated tree; `tally` itself is a namespace package shared with other distributions, so no
# __init__.py is written anywhere and nothing outside tally/api is touched.
GENERATED = Path("tally") / "api"
IGNORED_NAMES = {"__pycache__"}
IGNORED_SUFFIXES = {".pyc"}

# descriptor_pb2 field numbers used in SourceCodeInfo paths.
_FILE_MESSAGE, _FILE_ENUM, _FILE_SERVICE = 4, 5, 6
_MSG_FIELD, _MSG_NESTED, _MSG_ENUM, _MSG_ONEOF = 2, 3, 4, 8
_ENUM_VALUE, _SERVICE_METHOD = 2, 2

SourcePath = tuple[int, ...]
Elements = Iterator[tuple[SourcePath, str]]


GENERATED_PROTOS = PROTO_ROOT / "tally"
"""Our contracts. proto/google/rpc holds googleapis' status and error-detail protos, shipped for clients in
other languages; Python takes them from googleapis-common-protos, so no code is generated for them."""


def proto_files() -> list[str]:
    """Our .proto files (proto/tally), relative to proto/, in a stable order."""
    return sorted(path.relative_to(PROTO_ROOT).as_posix() for path in GENERATED_PROTOS.rglob("*.proto"))


def well_known_include() -> str:
    return str(resources.files("grpc_tools") / "_proto")


def run_protoc(out_dir: Path, files: list[str], descriptor_set: Path) -> None:
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known_include()}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        "--include_source_info",
        f"--descriptor_set_out={descriptor_set}",
        *files,
    ]
    if protoc.main(args) != 0:
        sys.exit("protoc failed")


def _enum_elements(enum: descriptor_pb2.EnumDescriptorProto, path: SourcePath, prefix: str) -> Elements:
    yield path, f"{prefix}{enum.name}"
    for i, value in enumerate(enum.value):
        yield (*path, _ENUM_VALUE, i), f"{prefix}{enum.name}.{value.name}"


def _message_elements(msg: descriptor_pb2.DescriptorProto, path: SourcePath, prefix: str) -> Elements:
    if msg.options.map_entry:  # synthesized for map<> fields; the field itself carries the comment
        return
    name = f"{prefix}{msg.name}"
    yield path, name
    for i, field in enumerate(msg.field):
        yield (*path, _MSG_FIELD, i), f"{name}.{field.name}"
    for i, oneof in enumerate(msg.oneof_decl):
        yield (*path, _MSG_ONEOF, i), f"{name}.{oneof.name} (oneof)"
    for i, nested in enumerate(msg.nested_type):
        yield from _message_elements(nested, (*path, _MSG_NESTED, i), f"{name}.")
    for i, enum in enumerate(msg.enum_type):
        yield from _enum_elements(enum, (*path, _MSG_ENUM, i), f"{name}.")


def _file_elements(file: descriptor_pb2.FileDescriptorProto) -> Elements:
    """(source path, name) of every element that needs a comment."""
    for i, msg in enumerate(file.message_type):
        yield from _message_elements(msg, (_FILE_MESSAGE, i), "")
    for i, enum in enumerate(file.enum_type):
        yield from _enum_elements(enum, (_FILE_ENUM, i), "")
    for i, service in enumerate(file.service):
        yield (_FILE_SERVICE, i), service.name
        for j, method in enumerate(service.method):
            yield (_FILE_SERVICE, i, _SERVICE_METHOD, j), f"{service.name}.{method.name}"


def missing_comments(descriptor_set: Path) -> list[str]:
    """Names of elements declared in our files that have no leading comment."""
    fds = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set.read_bytes())
    problems: list[str] = []
    for file in fds.file:
        commented = {
            tuple(loc.path) for loc in file.source_code_info.location if loc.leading_comments.strip()
        }
        problems += [f"{file.name}: {name}" for path, name in _file_elements(file) if path not in commented]
    return problems


def generate(out_dir: Path) -> None:
    """Writes the generated tree for every proto file into out_dir/tally/api."""
    files = proto_files()
    if not files:
        sys.exit(f"no .proto files under {PROTO_ROOT}")
    with tempfile.TemporaryDirectory() as scratch:
        descriptor_set = Path(scratch) / "descriptors.binpb"
        run_protoc(out_dir, files, descriptor_set)
        problems = missing_comments(descriptor_set)
    if problems:
        sys.exit("elements without a leading // comment:\n  " + "\n  ".join(problems))


def tree(base: Path) -> set[str]:
    """Relative paths of the generated files below base/tally/api."""
    root = base / GENERATED
    if not root.exists():
        return set()
    return {
        path.relative_to(base).as_posix()
        for path in root.rglob("*")
        if path.is_file()
        and path.suffix not in IGNORED_SUFFIXES
        and not IGNORED_NAMES.intersection(path.relative_to(base).parts)
    }


def stale_files(fresh: Path, current: Path) -> list[str]:
    """Files that are missing, extra or different in current compared with fresh."""
    want, have = tree(fresh), tree(current)
    problems = [f"missing: {name}" for name in sorted(want - have)]
    problems += [f"extra:   {name}" for name in sorted(have - want)]
    problems += [
        f"differs: {name}"
        for name in sorted(want & have)
        if not filecmp.cmp(fresh / name, current / name, shallow=False)
    ]
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the checked-in code is stale")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        fresh = Path(scratch)
        generate(fresh)
        if options.check:
            problems = stale_files(fresh, OUT_ROOT)
            if problems:
                print("generated code is stale; run: .venv/bin/python scripts/proto.py", file=sys.stderr)
                for problem in problems:
                    print(f"  {problem}", file=sys.stderr)
                return 1
            print("generated code is up to date")
            return 0
        # Replace the whole generated tree so code for deleted .proto files disappears too.
        shutil.rmtree(OUT_ROOT / GENERATED, ignore_errors=True)
        shutil.copytree(fresh / GENERATED, OUT_ROOT / GENERATED)
    count = len(tree(OUT_ROOT))
    print(f"generated {count} files under {(OUT_ROOT / GENERATED).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
