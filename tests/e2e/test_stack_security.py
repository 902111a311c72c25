"""`tally up` is closed by default: NATS admits only the stack's nkey identities, the data dir is private,
and with --tls every gRPC and NATS connection demands a certificate from the stack's own CA."""

from __future__ import annotations

import asyncio
import socket
import ssl
import stat
import subprocess
import sys
from pathlib import Path

import nats.errors
import pytest
from nats.aio.client import Client as NATS

from tally.cli.certificates import CertificateFiles, ensure_certificate
from tally.cli.stack import Stack, StackConfig, check_health
from tally.cli.topology import SERVICES
from tally.mesh import nats_access
from tally.testing.ports import free_port


def consecutive_free_ports(count: int) -> int:
    for _ in range(50):
        base = free_port()
        if all(_is_free(base + offset) for offset in range(count)):
            return base
    raise RuntimeError("no run of free ports found")


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def stack_config(tmp_path: Path, *, tls: bool = False) -> StackConfig:
    return StackConfig(
        data_dir=tmp_path / "stack",
        base_port=consecutive_free_ports(max(spec.offset for spec in SERVICES) + 1),
        nats_port=free_port(),
        nats_monitor_port=free_port(),
        tls=tls,
    )


def nats_tls(files: CertificateFiles | None, ca: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca))
    if files is not None:
        context.load_cert_chain(str(files.cert), str(files.key))
    return context


async def nats_refuses(url: str, **options: object) -> bool:
    """True when the server will not let this client in."""
    client = NATS()
    try:
        await client.connect(servers=[url], allow_reconnect=False, connect_timeout=2, **options)  # type: ignore[arg-type]
    except (nats.errors.Error, OSError, ssl.SSLError, TimeoutError):
        return True
    await client.close()
    return False


def readable_by_others(data_dir: Path) -> list[str]:
    """Every file and directory under ``data_dir`` (itself included) that anyone but its owner may use."""
    loose = []
    for path in [data_dir, *data_dir.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            loose.append(f"{path.relative_to(data_dir.parent)} {oct(mode)}")
    return loose


def test_the_stack_admits_only_its_nats_identities_and_keeps_its_files_private(tmp_path: Path) -> None:
    stack = Stack(stack_config(tmp_path))
    stack.start()
    try:
        url = stack.config.nats_url
        operator = (stack.config.data_dir / "secrets" / "nats" / "operator.nk").read_text().strip()
        assert asyncio.run(nats_refuses(url)), "a client without credentials got in"
        assert asyncio.run(nats_refuses(url, nkeys_seed_str=nats_access.generate_seed()))
        assert not asyncio.run(nats_refuses(url, nkeys_seed_str=operator))
    finally:
        stack.stop()
    data_dir = stack.config.data_dir
    assert not readable_by_others(data_dir)
    assert {path.name for path in (data_dir / "db").glob("*.db")} == {f"{s.name}.db" for s in SERVICES}
    assert any((data_dir / "nats").rglob("*"))  # the JetStream store is checked too


def test_a_tls_stack_refuses_plaintext_and_certificates_of_another_ca(tmp_path: Path) -> None:
    stack = Stack(stack_config(tmp_path, tls=True))
    stack.start()  # every service SERVING: each reached NATS over mutual TLS with its own certificate
    try:
        ours = stack.certificates["cli"]
        rogue = ensure_certificate(tmp_path / "rogue-ca", "cli")
        # Trusts our CA (so it would accept the server) but presents a certificate our CA never signed.
        impostor = CertificateFiles(rogue.cert, rogue.key, ours.ca)
        for spec in SERVICES:
            target = stack.config.target(spec)
            assert check_health(target, 2.0, ours) == "SERVING", spec.name
            assert check_health(target, 2.0) == "UNREACHABLE", f"{spec.name} answered plaintext"
            assert check_health(target, 2.0, impostor) == "UNREACHABLE", f"{spec.name} took a rogue cert"
        status = subprocess.run(
            [sys.executable, "-m", "tally.cli", "status", "--data-dir", str(stack.config.data_dir)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert status.returncode == 0, status.stdout + status.stderr

        url = stack.config.nats_url
        seed = (stack.config.data_dir / "secrets" / "nats" / "operator.nk").read_text().strip()
        assert asyncio.run(nats_refuses(url, nkeys_seed_str=seed)), "NATS accepted a plaintext client"
        assert asyncio.run(nats_refuses(url, nkeys_seed_str=seed, tls=nats_tls(None, ours.ca)))
        assert asyncio.run(nats_refuses(url, nkeys_seed_str=seed, tls=nats_tls(impostor, ours.ca)))
        assert not asyncio.run(nats_refuses(url, nkeys_seed_str=seed, tls=nats_tls(ours, ours.ca)))
    finally:
        stack.stop()
    assert "Violation" not in (stack.config.data_dir / "logs" / "nats-server.log").read_text()
    assert not readable_by_others(stack.config.data_dir)  # the CA's key and every certificate included
    assert (stack.config.data_dir / "tls" / "ca-key.pem").exists()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_demo_runs_end_to_end_over_mutual_tls(tmp_path: Path) -> None:
    config = stack_config(tmp_path, tls=True)
    command = [
        sys.executable, "-m", "tally.cli", "demo", "--tls", "--events", "2000",
        "--data-dir", str(config.data_dir), "--base-port", str(config.base_port),
        "--nats-port", str(config.nats_port), "--nats-monitor-port", str(config.nats_monitor_port),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "3 invoice PDFs written to" in result.stdout
    nats_log = (config.data_dir / "logs" / "nats-server.log").read_text()
    assert "Violation" not in nats_log
    assert "TLS handshake error" not in nats_log
