"""Mutual TLS: with certificate files set, only peers holding a certificate from our CA get through."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import grpc
import grpc.aio
import pytest
from google.protobuf.wrappers_pb2 import StringValue
from mesh_echo import Keys, MakeServer, unary

from tally.mesh.channel import open_channel
from tally.mesh.settings import MeshSettings
from tally.mesh.tls import tls_material

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def tls_settings(settings: MeshSettings, tmp_path: Path) -> MeshSettings:
    pki = tmp_path / "pki"
    pki.mkdir()
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
             "-days", "1", "-subj", "/CN=tally-test-ca", cwd=pki)  # fmt: skip
    (pki / "ext.cnf").write_text(
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n"
    )
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "svc.key", "-out", "svc.csr",
             "-subj", "/CN=echo", cwd=pki)  # fmt: skip
    _openssl("x509", "-req", "-in", "svc.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
             "-out", "svc.pem", "-days", "1", "-extfile", "ext.cnf", cwd=pki)  # fmt: skip
    return replace(
        settings, tls_cert_file=pki / "svc.pem", tls_key_file=pki / "svc.key", tls_ca_file=pki / "ca.pem"
    )


async def test_mutual_tls_serves_peers_with_our_certificates_only(
    make_server: MakeServer, tls_settings: MeshSettings, keys: Keys
) -> None:
    server = make_server(using=tls_settings)
    await server.start()
    target = f"127.0.0.1:{server.port}"

    async with open_channel(target, tls_settings, token=keys.reader) as trusted:
        assert (await unary(trusted, "Echo")(StringValue(value="hi"))).value == "reader:hi"

    material = tls_material(tls_settings)
    assert material is not None
    no_client_cert = grpc.ssl_channel_credentials(root_certificates=material.root_certificates)
    for channel in (grpc.aio.insecure_channel(target), grpc.aio.secure_channel(target, no_client_cert)):
        async with channel:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await unary(channel, "Echo")(StringValue(), timeout=2)
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


def test_half_a_tls_configuration_is_refused(tls_settings: MeshSettings) -> None:
    with pytest.raises(ValueError, match="missing TALLY_TLS_CA_FILE"):
        tls_material(replace(tls_settings, tls_ca_file=None))


async def test_under_mutual_tls_the_health_port_answers_probes_in_plaintext_and_nothing_else(
    make_server: MakeServer, tls_settings: MeshSettings
) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from tally.testing.ports import free_port

    health_port = free_port()
    server = make_server(using=replace(tls_settings, health_port=health_port))
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{health_port}") as probe:
        reply = await health_pb2_grpc.HealthStub(probe).Check(health_pb2.HealthCheckRequest(), timeout=2)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await unary(probe, "Echo")(StringValue(value="hi"), timeout=2)
        assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED
