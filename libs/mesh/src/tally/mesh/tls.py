"""Mutual TLS: server and channel credentials from the certificate, key and CA files in MeshSettings."""

from __future__ import annotations

import ssl
from dataclasses import dataclass

import grpc

from tally.mesh.settings import MeshSettings


@dataclass(frozen=True)
class TlsMaterial:
    """PEM bytes of this service's certificate chain and key, and of the CA every peer must chain to."""

    certificate_chain: bytes
    private_key: bytes
    root_certificates: bytes


def tls_material(settings: MeshSettings) -> TlsMaterial | None:
    """The files' contents when all three are set, None when none is; half a configuration is an error."""
    files = {
        "TALLY_TLS_CERT_FILE": settings.tls_cert_file,
        "TALLY_TLS_KEY_FILE": settings.tls_key_file,
        "TALLY_TLS_CA_FILE": settings.tls_ca_file,
    }
    missing = [variable for variable, path in files.items() if path is None]
    if len(missing) == len(files):
        return None
    if missing:
        # Falling back to plaintext here would silently drop the protection the operator asked for.
        raise ValueError(f"mutual TLS needs all of {', '.join(files)}; missing {', '.join(missing)}")
    assert settings.tls_cert_file and settings.tls_key_file and settings.tls_ca_file
    return TlsMaterial(
        certificate_chain=settings.tls_cert_file.read_bytes(),
        private_key=settings.tls_key_file.read_bytes(),
        root_certificates=settings.tls_ca_file.read_bytes(),
    )


def server_credentials(material: TlsMaterial) -> grpc.ServerCredentials:
    """Serve TLS and require a client certificate signed by our CA: the peer's identity is proven."""
    return grpc.ssl_server_credentials(
        [(material.private_key, material.certificate_chain)],
        root_certificates=material.root_certificates,
        require_client_auth=True,
    )


def channel_credentials(material: TlsMaterial) -> grpc.ChannelCredentials:
    """Verify the server against our CA and present our own certificate to it."""
    return grpc.ssl_channel_credentials(
        root_certificates=material.root_certificates,
        private_key=material.private_key,
        certificate_chain=material.certificate_chain,
    )


def nats_tls_context(settings: MeshSettings) -> ssl.SSLContext | None:
    """TLS to NATS when TALLY_NATS_TLS_CA_FILE is set: the server is verified against that CA (hostname
    included), and this service's own certificate is presented when it has one (the server may require it)."""
    if settings.nats_tls_ca_file is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(settings.nats_tls_ca_file))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if settings.tls_cert_file is not None and settings.tls_key_file is not None:
        context.load_cert_chain(str(settings.tls_cert_file), str(settings.tls_key_file))
    return context
