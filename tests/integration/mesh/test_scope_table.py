"""docs/security.md's tables are the truth: each matches the code, and every RPC lets through exactly the
roles and services its table row says (and refuses a missing or bogus key), on a real mesh server."""

from __future__ import annotations

import asyncio
import importlib
import re
from pathlib import Path
from types import ModuleType

import grpc
import grpc.aio
import pytest

from tally.mesh.auth import ALL_SCOPES, Keyring, generate_key
from tally.mesh.roles import OPERATOR_ROLES, SERVICE_SCOPES
from tally.mesh.server import MeshServer
from tally.mesh.settings import MeshSettings

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "security.md"
SERVICES = ("ingestion", "metering", "catalog", "quoting", "invoicing", "erp_sync", "insights", "gateway")
FORWARDED = {("gateway", "/tally.api.ingestion.v1.IngestionService/Ingest")}
"""Calls a service makes with its caller's key, not its own: the gateway sends a producer's batch with the
producer's key, so the batch is that producer's and the gateway needs no ``usage:write``."""


def table(heading: str) -> list[list[str]]:
    """The rows (cells without backticks) of the first table under ``## <heading>`` in docs/security.md."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip().replace("`", "") for cell in line.strip("|").split("|")] for line in lines[2:]]


def scope_set(cell: str) -> frozenset[str]:
    return frozenset() if cell == "(none)" else frozenset(s.strip() for s in cell.split(","))


def declared_scopes() -> dict[str, str]:
    merged: dict[str, str] = {}
    for service in SERVICES:
        merged |= importlib.import_module(f"tally.{service}.server").SCOPES
    return merged


def service_modules() -> list[ModuleType]:
    areas = sorted(
        p.parent.parent.name for p in (ROOT / "proto" / "tally" / "api").glob("*/v1/*_service.proto")
    )
    return [importlib.import_module(f"tally.api.{area}.v1.{area}_service_pb2") for area in areas]


def every_rpc() -> dict[str, tuple[bool, bool]]:
    """Every RPC in the contracts: path → (client streaming, server streaming)."""
    return {
        f"/{service.full_name}/{method.name}": (method.client_streaming, method.server_streaming)
        for module in service_modules()
        for service in module.DESCRIPTOR.services_by_name.values()
        for method in service.methods
    }


def may(scopes: frozenset[str], scope: str) -> bool:
    return ALL_SCOPES in scopes or scope in scopes


def calls_of(service: str) -> set[str]:
    """The other services' RPCs ``service`` calls: their names used as attributes in its source, for each
    service whose generated stubs it imports."""
    source = "\n".join(p.read_text() for p in (ROOT / "services" / service / "src").rglob("*.py"))
    imported = set(re.findall(r"from tally\.api\.(\w+)\.v1 import \w+_service_pb2_grpc", source)) - {service}
    found = set()
    for area in imported:
        module = importlib.import_module(f"tally.api.{area}.v1.{area}_service_pb2")
        for described in module.DESCRIPTOR.services_by_name.values():
            for method in described.methods:
                if re.search(rf"\.{method.name}\b", source):
                    found.add(f"/{described.full_name}/{method.name}")
    return found


def test_the_rpc_table_is_every_rpc_with_its_declared_scope_and_the_roles_holding_it():
    rows = table("Scope of every RPC")
    documented = {f"/{rpc}": scope for rpc, scope, _ in rows}
    assert len(documented) == len(rows), "an RPC is listed twice"
    assert documented == declared_scopes()
    assert set(documented) == set(every_rpc())
    for rpc, scope, roles in rows:
        holders = [role for role, scopes in OPERATOR_ROLES.items() if may(scopes, scope)]
        assert [r.strip() for r in roles.split(",")] == holders, rpc


def test_the_role_and_service_tables_are_the_code():
    assert {role: scope_set(scopes) for role, scopes in table("Operator roles")} == OPERATOR_ROLES
    keys = {name.removeprefix("service:"): scope_set(scopes) for name, scopes in table("Service keys")}
    assert keys == SERVICE_SCOPES
    assert set(keys) == set(SERVICES)
    assert all(ALL_SCOPES not in scopes for scopes in keys.values())


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_key_holds_exactly_the_scopes_of_the_rpcs_it_calls(service):
    declared = declared_scopes()
    needed = {declared[rpc] for rpc in calls_of(service) if (service, rpc) not in FORWARDED}
    assert SERVICE_SCOPES[service] == needed


@pytest.fixture
async def mesh(tmp_path):
    """One mesh server serving every service's contract (generated base servicers, which answer
    UNIMPLEMENTED) behind the real scope maps, and a key per role and per service from the doc's tables."""
    keyring = Keyring()
    keys: dict[str, tuple[str, frozenset[str]]] = {}
    holders = [(f"role:{r}", scope_set(s)) for r, s in table("Operator roles")]
    holders += [(n, scope_set(s)) for n, s in table("Service keys")]
    for name, scopes in holders:
        plaintext, record = generate_key(name, scopes)
        keyring.add(record)
        keys[name] = (plaintext, scopes)
    registrations, names = [], []
    for module in service_modules():
        generated = importlib.import_module(module.__name__ + "_grpc")
        for described in module.DESCRIPTOR.services_by_name.values():
            servicer = getattr(generated, f"{described.name}Servicer")()
            registrations.append((getattr(generated, f"add_{described.name}Servicer_to_server"), servicer))
            names.append(described.full_name)
    keyring.save(tmp_path / "keyring.json")
    settings = MeshSettings(
        database_url="sqlite://",
        nats_url="nats://127.0.0.1:4222",
        keyring_path=tmp_path / "keyring.json",
        service_token="unused",
        grpc_host="127.0.0.1",
        grpc_port=0,
        default_deadline_s=5.0,
        shutdown_grace_s=0.5,
    )
    server = MeshServer(
        "all", settings, registrations=registrations, service_names=names,
        scopes=declared_scopes(), verifier=keyring,
    )  # fmt: skip
    await server.start()
    channel = grpc.aio.insecure_channel(server.address)
    yield channel, keys
    await channel.close()
    await server.shutdown()


async def _code(
    channel: grpc.aio.Channel, rpc: str, shape: tuple[bool, bool], key: str | None
) -> grpc.StatusCode:
    metadata = (("authorization", f"Bearer {key}"),) if key is not None else ()
    client_streaming, server_streaming = shape
    try:
        if client_streaming and server_streaming:
            async for _ in channel.stream_stream(rpc)(aiter_of(b""), metadata=metadata, timeout=5):
                pass
        elif client_streaming:
            await channel.stream_unary(rpc)(aiter_of(b""), metadata=metadata, timeout=5)
        elif server_streaming:
            async for _ in channel.unary_stream(rpc)(b"", metadata=metadata, timeout=5):
                pass
        else:
            await channel.unary_unary(rpc)(b"", metadata=metadata, timeout=5)
    except grpc.aio.AioRpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


async def aiter_of(*items: bytes):
    for item in items:
        yield item


REFUSED = {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED}


async def test_every_rpc_lets_through_exactly_the_roles_and_services_the_table_says(mesh):
    channel, keys = mesh
    rpcs = every_rpc()
    scopes = {f"/{rpc}": scope for rpc, scope, _ in table("Scope of every RPC")}
    checked = 0
    for rpc, shape in rpcs.items():
        missing, bogus = await asyncio.gather(
            _code(channel, rpc, shape, None), _code(channel, rpc, shape, "tly_0000_not-a-key")
        )
        assert (missing, bogus) == (grpc.StatusCode.UNAUTHENTICATED,) * 2, rpc
        codes = await asyncio.gather(*(_code(channel, rpc, shape, key) for key, _ in keys.values()))
        for (holder, (_, held)), code in zip(keys.items(), codes, strict=True):
            if may(held, scopes[rpc]):
                assert code not in REFUSED, f"{holder} refused on {rpc} ({code.name})"
            else:
                assert code == grpc.StatusCode.PERMISSION_DENIED, f"{holder} let through {rpc} ({code.name})"
            checked += 1
    assert rpcs
    assert checked == len(rpcs) * len(keys)
