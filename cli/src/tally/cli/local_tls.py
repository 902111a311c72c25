"""How the CLI reaches a local stack started with ``--tls``: with the stack's CA and the CLI's own certificate."""

from __future__ import annotations

import json
from pathlib import Path

import grpc

from tally.cli.certificates import CertificateFiles


def stack_certificates(data_dir: Path) -> CertificateFiles | None:
    """The CLI's certificate files of the stack running from ``data_dir``, None when it runs without TLS."""
    state_file = data_dir / "stack.json"
    try:
        tls = json.loads(state_file.read_text()).get("tls")
    except (OSError, ValueError):
        return None
    if not tls:
        return None
    return CertificateFiles(Path(tls["cert"]), Path(tls["key"]), Path(tls["ca"]))


def channel_credentials(files: CertificateFiles) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(
        root_certificates=files.ca.read_bytes(),
        private_key=files.key.read_bytes(),
        certificate_chain=files.cert.read_bytes(),
    )


def stack_channel(data_dir: Path, target: str) -> grpc.Channel:
    """A channel to ``target``: mutual TLS when the local stack in ``data_dir`` runs with it, else plaintext."""
    files = stack_certificates(data_dir)
    if files is None:
        return grpc.insecure_channel(target)
    return grpc.secure_channel(target, channel_credentials(files))
