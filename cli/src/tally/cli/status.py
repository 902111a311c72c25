"""``tally status``: readiness and liveness of a local stack's services, or of any deployment's endpoints."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tally.cli.local_tls import channel_credentials, stack_certificates
from tally.mesh.readiness import LIVENESS_SERVICE

DEADLINE_S = 3.0

Output = Callable[[str], None]


@dataclass(frozen=True)
class Health:
    """What one endpoint answers: readiness (its dependencies reachable) and liveness (the process runs)."""

    target: str
    readiness: str
    liveness: str

    @property
    def ok(self) -> bool:
        return self.readiness == "SERVING"


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser], data_dir: Path) -> None:
    status = commands.add_parser(
        "status", help="readiness and liveness of a running local stack, or of the endpoints given"
    )
    status.add_argument("--data-dir", type=Path, default=data_dir, help=f"local stack (default {data_dir})")
    status.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="HOST:PORT",
        help="an endpoint of any deployment (repeatable); without it, the local stack's services",
    )
    status.add_argument("--ca-file", type=Path, help="PEM CA bundle: talk TLS to the targets")
    status.add_argument("--cert-file", type=Path, help="PEM client certificate, for mutual TLS")
    status.add_argument("--key-file", type=Path, help="PEM client private key, for mutual TLS")


def _credentials(args: argparse.Namespace) -> grpc.ChannelCredentials | None:
    if args.ca_file is None and args.cert_file is None and args.key_file is None:
        return None
    if (args.cert_file is None) != (args.key_file is None):
        raise ValueError("--cert-file and --key-file go together (mutual TLS needs both)")
    return grpc.ssl_channel_credentials(
        root_certificates=args.ca_file.read_bytes() if args.ca_file else None,
        private_key=args.key_file.read_bytes() if args.key_file else None,
        certificate_chain=args.cert_file.read_bytes() if args.cert_file else None,
    )


def _status(stub: health_pb2_grpc.HealthStub, service: str) -> str:
    try:
        reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=DEADLINE_S)
    except grpc.RpcError as exc:
        code = exc.code() if isinstance(exc, grpc.Call) else None
        if code == grpc.StatusCode.NOT_FOUND:
            return "UNKNOWN"  # a server without that health service (an older Tally, another program)
        return "UNREACHABLE"
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


def check(target: str, credentials: grpc.ChannelCredentials | None = None) -> Health:
    """Ask ``target``'s standard health service for its readiness and its liveness."""
    channel = (
        grpc.secure_channel(target, credentials) if credentials is not None else grpc.insecure_channel(target)
    )
    with channel:
        stub = health_pb2_grpc.HealthStub(channel)
        readiness = _status(stub, "")
        liveness = _status(stub, LIVENESS_SERVICE) if readiness != "UNREACHABLE" else "UNREACHABLE"
    return Health(target, readiness, liveness)


def run(args: argparse.Namespace, out: Output = print) -> int:
    """Print one line per endpoint; exit 0 only if every one is ready."""
    try:
        credentials = _credentials(args)
    except (OSError, ValueError) as exc:
        out(f"tally status: {exc}")
        return 2
    if args.target:
        endpoints = [(target, target) for target in args.target]
    else:
        state_file = args.data_dir / "stack.json"
        if not state_file.exists():
            out(
                f"no local stack is running from {args.data_dir} (start one with `tally up`, "
                "or name endpoints with --target HOST:PORT)"
            )
            return 1
        endpoints = list(json.loads(state_file.read_text())["services"].items())
        local = stack_certificates(args.data_dir)
        if credentials is None and local is not None:
            credentials = channel_credentials(local)
    healthy = True
    out(f"  {'ENDPOINT':<12} {'TARGET':<28} {'READINESS':<12} LIVENESS")
    for name, target in endpoints:
        health = check(target, credentials)
        healthy &= health.ok
        out(f"  {name:<12} {target:<28} {health.readiness:<12} {health.liveness}")
    return 0 if healthy else 1
