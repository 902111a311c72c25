"""The gateway's gRPC servicer (administration): translate wire messages to use-case calls, nothing more."""

from __future__ import annotations

import grpc.aio

from tally.api.gateway.v1 import gateway_service_pb2 as pb
from tally.api.gateway.v1 import gateway_service_pb2_grpc as pb_grpc
from tally.gateway.customer_keys import CustomerKeys
from tally.gateway.key_store import CustomerKeyRow
from tally.gateway.links import PortalLinks
from tally.mesh.wire import timestamp_to_wire

SERVICE = "tally.api.gateway.v1.GatewayAdminService"
SCOPES = {
    f"/{SERVICE}/CreateCustomerKey": "admin",
    f"/{SERVICE}/ListCustomerKeys": "admin",
    f"/{SERVICE}/RevokeCustomerKey": "admin",
    f"/{SERVICE}/CreatePortalLink": "admin",
}


def _key_to_wire(key: CustomerKeyRow) -> pb.CustomerKey:
    reply = pb.CustomerKey(
        id=key.key_id,
        customer_id=key.customer_id,
        customer_external_id=key.customer_external_id,
        name=key.name,
        prefix=f"tly_{key.key_id}_",
        created_at=timestamp_to_wire(key.created_at),
    )
    if key.revoked_at is not None:
        reply.revoked_at.CopyFrom(timestamp_to_wire(key.revoked_at))
    return reply


class GatewayAdminServicer(pb_grpc.GatewayAdminServiceServicer):
    def __init__(self, keys: CustomerKeys, links: PortalLinks) -> None:
        self._keys = keys
        self._links = links

    async def CreateCustomerKey(
        self, request: pb.CreateCustomerKeyRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateCustomerKeyResponse:
        issued = await self._keys.issue(request.customer, request.name)
        return pb.CreateCustomerKeyResponse(key=_key_to_wire(issued.key), secret=issued.plaintext)

    async def ListCustomerKeys(
        self, request: pb.ListCustomerKeysRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListCustomerKeysResponse:
        keys = await self._keys.list(request.customer, include_revoked=request.include_revoked)
        return pb.ListCustomerKeysResponse(keys=[_key_to_wire(key) for key in keys])

    async def RevokeCustomerKey(
        self, request: pb.RevokeCustomerKeyRequest, context: grpc.aio.ServicerContext
    ) -> pb.RevokeCustomerKeyResponse:
        return pb.RevokeCustomerKeyResponse(key=_key_to_wire(await self._keys.revoke(request.key_id)))

    async def CreatePortalLink(
        self, request: pb.CreatePortalLinkRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreatePortalLinkResponse:
        link = await self._links.create(request.customer, request.ttl_seconds)
        return pb.CreatePortalLinkResponse(
            url=link.url, expires_at=timestamp_to_wire(link.expires_at), customer_id=link.customer_id
        )
