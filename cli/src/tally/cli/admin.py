"""``tally producers …`` and ``tally keys …``: administer ingestion's producers and API keys on a running stack."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc

from tally.api.ingestion.v1 import ingestion_service_pb2 as pb
from tally.api.ingestion.v1 import ingestion_service_pb2_grpc as pb_grpc
from tally.cli.local_tls import stack_channel
from tally.cli.settings import CliSettings

DEADLINE_S = 10.0
_PAGE = 1000

Output = Callable[[str], None]


class AdminError(Exception):
    """A failure to report on one line, without a traceback."""


@dataclass(frozen=True)
class Endpoint:
    """Where ingestion's admin API answers and the key to present."""

    target: str
    key: str


def read_key_file(path: Path) -> str:
    try:
        key = path.read_text().strip()
    except OSError as exc:
        raise AdminError(f"cannot read the admin key from {path}: {exc.strerror or exc}") from None
    if not key:
        raise AdminError(f"{path} is empty (it should hold the admin API key)")
    return key


def resolve_endpoint(
    data_dir: Path, target: str | None = None, key: str | None = None, service: str = "ingestion"
) -> Endpoint:
    """Flags win; otherwise ``service``'s address in the running local stack's ``stack.json`` and
    ``secrets/admin.key``."""
    if target is None:
        state_file = data_dir / "stack.json"
        if not state_file.exists():
            raise AdminError(
                f"no local stack is running from {data_dir} (start one with `tally up`, "
                "or pass --target and --key)"
            )
        try:
            target = str(json.loads(state_file.read_text())["services"][service])
        except (ValueError, KeyError, TypeError) as exc:
            raise AdminError(f"{state_file} does not name {service}'s address ({exc})") from None
    if key is None:
        key_file = data_dir / "secrets" / "admin.key"
        if not key_file.exists():
            raise AdminError(f"no admin key at {key_file} (pass --key)")
        key = key_file.read_text().strip()
    return Endpoint(target, key)


def presented_key(args: argparse.Namespace) -> str | None:
    """The admin key a command was given: ``--key-file``, else ``--key``, else TALLY_ADMIN_KEY(_FILE)."""
    return read_key_file(args.key_file) if args.key_file else args.key or args.environment_key


def add_endpoint_options(command: argparse.ArgumentParser, defaults: CliSettings, target_help: str) -> None:
    """Where to call and with which admin key: a file or the environment, the key itself only if asked."""
    data_dir = defaults.data_dir
    command.add_argument(
        "--data-dir", type=Path, default=data_dir, help=f"data directory (default {data_dir})"
    )
    command.add_argument("--target", help=target_help)
    command.add_argument(
        "--key-file",
        type=Path,
        help="file holding the admin API key (default: TALLY_ADMIN_KEY or TALLY_ADMIN_KEY_FILE, else the "
        "local stack's secrets/admin.key)",
    )
    command.add_argument(
        "--key",
        help="the admin API key itself; other users can read it in the process list, prefer --key-file",
    )
    command.set_defaults(environment_key=defaults.admin_key)


def add_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], defaults: CliSettings
) -> None:
    """Register ``producers`` and ``keys`` on the top-level parser."""

    def endpoint_options(command: argparse.ArgumentParser) -> None:
        add_endpoint_options(
            command, defaults, "ingestion's host:port (default: from the running local stack)"
        )

    producers = commands.add_parser("producers", help="register and list producers (systems that send usage)")
    producer_commands = producers.add_subparsers(dest="action", required=True)
    create = producer_commands.add_parser("create", help="register a producer")
    create.add_argument("name")
    create.add_argument("--description", default="")
    endpoint_options(create)
    listing = producer_commands.add_parser("list", help="list producers")
    endpoint_options(listing)

    keys = commands.add_parser("keys", help="issue, list and revoke producers' API keys")
    key_commands = keys.add_subparsers(dest="action", required=True)
    create = key_commands.add_parser("create", help="issue an API key (printed once, never shown again)")
    owner = create.add_mutually_exclusive_group(required=True)
    owner.add_argument("--producer", help="producer id")
    owner.add_argument("--customer", help="customer (external id or catalog id): a key reading only its data")
    create.add_argument(
        "--scope", action="append", default=[], help="scope to grant; repeatable (default usage:write)"
    )
    create.add_argument("--name", default="", help="label of the key")
    endpoint_options(create)
    listing = key_commands.add_parser(
        "list", help="list a producer's or a customer's keys (never their secrets)"
    )
    owner = listing.add_mutually_exclusive_group(required=True)
    owner.add_argument("--producer", help="producer id")
    owner.add_argument("--customer", help="customer (external id or catalog id)")
    endpoint_options(listing)
    revoke = key_commands.add_parser("revoke", help="revoke a key; calls made with it are refused at once")
    revoke.add_argument("key_id")
    revoke.add_argument(
        "--customer", action="store_true", help="the key is a customer's (kept by the gateway)"
    )
    endpoint_options(revoke)


def run(args: argparse.Namespace, out: Output = print) -> int:
    """Run a ``producers`` or ``keys`` command; errors become AdminError with a one-line message."""
    key = presented_key(args)
    if getattr(args, "customer", None):
        from tally.cli.portal import run_customer_keys

        return run_customer_keys(args, key, out)
    endpoint = resolve_endpoint(args.data_dir, args.target, key)
    with stack_channel(args.data_dir, endpoint.target) as channel:
        stub = pb_grpc.IngestionAdminServiceStub(channel)
        metadata = (("authorization", f"Bearer {endpoint.key}"),)
        try:
            if args.command == "producers":
                if args.action == "create":
                    create_producer(stub, metadata, args.name, args.description, out)
                else:
                    list_producers(stub, metadata, out)
            elif args.action == "create":
                create_key(stub, metadata, args.producer, args.scope, args.name, out)
            elif args.action == "list":
                list_keys(stub, metadata, args.producer, out)
            else:
                revoke_key(stub, metadata, args.key_id, out)
        except grpc.RpcError as exc:
            raise AdminError(_explain(exc, endpoint.target)) from None
    return 0


Metadata = Sequence[tuple[str, str]]


def create_producer(
    stub: pb_grpc.IngestionAdminServiceStub, metadata: Metadata, name: str, description: str, out: Output
) -> None:
    reply = stub.CreateProducer(
        pb.CreateProducerRequest(name=name, description=description), metadata=metadata, timeout=DEADLINE_S
    )
    # The id alone on stdout, so `ID=$(tally producers create checkout)` works; the sentence goes to stderr.
    print(f"producer {reply.producer.name} created", file=sys.stderr)
    out(reply.producer.id)


def list_producers(stub: pb_grpc.IngestionAdminServiceStub, metadata: Metadata, out: Output) -> None:
    token = ""
    out(f"{'ID':<36}  {'NAME':<24}  CREATED")
    while True:
        reply = stub.ListProducers(
            pb.ListProducersRequest(page={"page_size": _PAGE, "page_token": token}),
            metadata=metadata,
            timeout=DEADLINE_S,
        )
        for producer in reply.producers:
            created = producer.created_at.ToDatetime().strftime("%Y-%m-%d %H:%M:%S")
            out(f"{producer.id:<36}  {producer.name:<24}  {created}")
        token = reply.page.next_page_token
        if not token:
            return


def create_key(
    stub: pb_grpc.IngestionAdminServiceStub,
    metadata: Metadata,
    producer_id: str,
    scopes: Sequence[str],
    name: str,
    out: Output,
) -> None:
    reply = stub.CreateApiKey(
        pb.CreateApiKeyRequest(producer_id=producer_id, name=name, scopes=scopes),
        metadata=metadata,
        timeout=DEADLINE_S,
    )
    key = reply.api_key
    out(f"key {key.id} for producer {key.producer_id} (scopes: {', '.join(key.scopes)})")
    out("store it now, it is not shown again:")
    out(reply.secret)


def list_keys(
    stub: pb_grpc.IngestionAdminServiceStub, metadata: Metadata, producer_id: str, out: Output
) -> None:
    token = ""
    out(f"{'KEY ID':<16}  {'STATUS':<8}  {'SCOPES':<24}  {'NAME':<16}  CREATED")
    while True:
        reply = stub.ListApiKeys(
            pb.ListApiKeysRequest(
                producer_id=producer_id, include_revoked=True, page={"page_size": _PAGE, "page_token": token}
            ),
            metadata=metadata,
            timeout=DEADLINE_S,
        )
        for key in reply.api_keys:
            status = "revoked" if key.HasField("revoked_at") else "active"
            created = key.created_at.ToDatetime().strftime("%Y-%m-%d %H:%M:%S")
            out(f"{key.id:<16}  {status:<8}  {','.join(key.scopes):<24}  {key.name:<16}  {created}")
        token = reply.page.next_page_token
        if not token:
            return


def revoke_key(stub: pb_grpc.IngestionAdminServiceStub, metadata: Metadata, key_id: str, out: Output) -> None:
    reply = stub.RevokeApiKey(
        pb.RevokeApiKeyRequest(api_key_id=key_id), metadata=metadata, timeout=DEADLINE_S
    )
    revoked = reply.api_key.revoked_at.ToDatetime().strftime("%Y-%m-%d %H:%M:%S")
    out(f"key {reply.api_key.id} revoked at {revoked} UTC")


def _explain(exc: grpc.RpcError, target: str) -> str:
    code = exc.code() if isinstance(exc, grpc.Call) else None
    details = exc.details() if isinstance(exc, grpc.Call) else str(exc)
    if code == grpc.StatusCode.UNAVAILABLE:
        return f"ingestion at {target} is not answering (is the stack running? `tally status`): {details}"
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return f"ingestion at {target} refused the admin key: {details}"
    name = code.name if code is not None else "ERROR"
    return f"{name}: {details}"
