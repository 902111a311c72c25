"""``tally portal-link`` and ``tally keys … --customer``: the gateway's customer keys and portal links on a
running local stack, and the links ``tally demo`` prints."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import grpc

from tally.api.gateway.v1 import gateway_service_pb2 as pb
from tally.api.gateway.v1 import gateway_service_pb2_grpc as pb_grpc
from tally.cli.admin import AdminError, Endpoint, add_endpoint_options, presented_key, resolve_endpoint
from tally.cli.local_tls import stack_channel
from tally.cli.settings import CliSettings
from tally.cli.stack import StackConfig
from tally.cli.topology import BY_NAME

DEADLINE_S = 10.0

Output = Callable[[str], None]


def gateway_endpoint(data_dir: Path, target: str | None, key: str | None) -> Endpoint:
    """Flags win; otherwise the running local stack's gateway address and admin key."""
    return resolve_endpoint(data_dir, target, key, service="gateway")


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser], defaults: CliSettings) -> None:
    """Register ``portal-link`` on the top-level parser."""
    link = commands.add_parser("portal-link", help="sign a short-lived link to one customer's portal")
    link.add_argument("customer", help="the customer's external id (e.g. acme) or catalog id")
    link.add_argument(
        "--ttl", type=int, default=0, help="seconds the link works (default: the gateway's, 1 hour)"
    )
    add_endpoint_options(
        link, defaults, "the gateway's gRPC host:port (default: from the running local stack)"
    )


def _call(
    data_dir: Path,
    endpoint: Endpoint,
    action: Callable[[pb_grpc.GatewayAdminServiceStub, tuple[tuple[str, str], ...]], None],
) -> int:
    with stack_channel(data_dir, endpoint.target) as channel:
        try:
            action(pb_grpc.GatewayAdminServiceStub(channel), (("authorization", f"Bearer {endpoint.key}"),))
        except grpc.RpcError as exc:
            code = exc.code() if isinstance(exc, grpc.Call) else None
            details = exc.details() if isinstance(exc, grpc.Call) else str(exc)
            raise AdminError(
                f"gateway at {endpoint.target}: {code.name if code else 'ERROR'}: {details}"
            ) from None
    return 0


def run_portal_link(args: argparse.Namespace, out: Output = print) -> int:
    key = presented_key(args)
    endpoint = gateway_endpoint(args.data_dir, args.target, key)

    def sign(stub: pb_grpc.GatewayAdminServiceStub, metadata: tuple[tuple[str, str], ...]) -> None:
        reply = stub.CreatePortalLink(
            pb.CreatePortalLinkRequest(customer=args.customer, ttl_seconds=args.ttl),
            metadata=metadata,
            timeout=DEADLINE_S,
        )
        out(reply.url)
        out(
            f"(for customer {reply.customer_id}; works until {reply.expires_at.ToDatetime():%Y-%m-%d %H:%M:%S} UTC)"
        )

    return _call(args.data_dir, endpoint, sign)


def run_customer_keys(args: argparse.Namespace, key: str | None, out: Output = print) -> int:
    """``tally keys create|list|revoke --customer …``: keys scoped to one customer, kept by the gateway."""
    endpoint = gateway_endpoint(args.data_dir, args.target, key)

    def act(stub: pb_grpc.GatewayAdminServiceStub, metadata: tuple[tuple[str, str], ...]) -> None:
        if args.action == "create":
            reply = stub.CreateCustomerKey(
                pb.CreateCustomerKeyRequest(customer=args.customer, name=args.name),
                metadata=metadata,
                timeout=DEADLINE_S,
            )
            out(f"key {reply.key.id} for customer {reply.key.customer_external_id} ({reply.key.customer_id}): "
                "reads this customer only, through the gateway's HTTP API")  # fmt: skip
            out("store it now, it is not shown again:")
            out(reply.secret)
        elif args.action == "list":
            reply_list = stub.ListCustomerKeys(
                pb.ListCustomerKeysRequest(customer=args.customer, include_revoked=True),
                metadata=metadata,
                timeout=DEADLINE_S,
            )
            out(f"{'KEY ID':<16}  {'STATUS':<8}  {'NAME':<16}  CREATED")
            for key in reply_list.keys:
                status = "revoked" if key.HasField("revoked_at") else "active"
                out(
                    f"{key.id:<16}  {status:<8}  {key.name:<16}  {key.created_at.ToDatetime():%Y-%m-%d %H:%M:%S}"
                )
        else:
            revoked = stub.RevokeCustomerKey(
                pb.RevokeCustomerKeyRequest(key_id=args.key_id), metadata=metadata, timeout=DEADLINE_S
            )
            out(
                f"customer key {revoked.key.id} revoked at {revoked.key.revoked_at.ToDatetime():%Y-%m-%d %H:%M:%S} UTC"
            )

    return _call(args.data_dir, endpoint, act)


def demo_links(config: StackConfig, admin_key: str, customer: str, out: Output = print) -> None:
    """What ``tally demo`` prints for a person to open: one customer's portal link and the console."""
    gateway = BY_NAME["gateway"]
    with stack_channel(config.data_dir, config.target(gateway)) as channel:
        reply = pb_grpc.GatewayAdminServiceStub(channel).CreatePortalLink(
            pb.CreatePortalLinkRequest(customer=customer),
            metadata=(("authorization", f"Bearer {admin_key}"),),
            timeout=DEADLINE_S,
        )
    out(f"\nportal of {customer} (works for an hour): {reply.url}")
    out(f"finance console: {config.http_url(gateway)}/console (log in with the admin key in "
        f"{config.data_dir / 'secrets' / 'admin.key'})")  # fmt: skip
