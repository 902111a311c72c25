"""Auth interceptors: who is calling (API key → Principal) and whether the method's scope allows it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

import grpc
import grpc.aio
from grpc_health.v1 import health
from grpc_reflection.v1alpha import reflection
from opentelemetry import trace

from tally.domain.errors import PermissionDenied, Unauthenticated
from tally.mesh import attributes
from tally.mesh.auth import KeyVerifier, Principal
from tally.mesh.interceptors.shapes import (
    AroundServerInterceptor,
    CallDetailsInterceptor,
    method_name,
    split_method,
    with_metadata,
)

PUBLIC_SERVICES = frozenset(
    {health.SERVICE_NAME, reflection.SERVICE_NAME, "grpc.reflection.v1.ServerReflection"}
)
"""Services anyone may call: probes (kubelet, load balancers) and tooling carry no API key."""

_AUTHORIZATION = "authorization"
_BEARER = "bearer "

_principal: ContextVar[Principal | None] = ContextVar("tally_mesh_principal", default=None)


def current_principal() -> Principal:
    """The authenticated caller of the RPC being served; raises Unauthenticated outside of one."""
    principal = _principal.get()
    if principal is None:
        raise Unauthenticated("no authenticated caller")
    return principal


def _bearer_token(metadata: Iterable[tuple[str, str | bytes]] | None) -> str | None:
    for key, value in metadata or ():
        if key == _AUTHORIZATION and isinstance(value, str) and value[: len(_BEARER)].lower() == _BEARER:
            return value[len(_BEARER) :].strip() or None
    return None


class ServerAuthInterceptor(AroundServerInterceptor):
    """Authenticates every non-public call and checks the one scope its method requires (fail closed)."""

    def __init__(self, verifier: KeyVerifier, scopes: Mapping[str, str]) -> None:
        for method in scopes:
            service, name = split_method(method)
            if not method.startswith("/") or not service or not name or "/" in name:
                raise ValueError(f"scope map key {method!r} is not a /package.Service/Method path")
        self._verifier = verifier
        self._scopes = dict(scopes)

    @asynccontextmanager
    async def around(
        self, details: grpc.HandlerCallDetails, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[None]:
        method = method_name(details)
        if split_method(method)[0] not in PUBLIC_SERVICES:
            _principal.set(await self._authorize(method, context))
        yield

    async def _authorize(self, method: str, context: grpc.aio.ServicerContext[Any, Any]) -> Principal:
        token = _bearer_token(context.invocation_metadata())
        if token is None:
            raise Unauthenticated("missing 'authorization: Bearer <api key>' metadata")
        principal = await self._verifier.verify(token)
        if principal is None:
            raise Unauthenticated("API key is unknown, malformed or revoked")
        trace.get_current_span().set_attribute(attributes.PRINCIPAL, principal.name)
        scope = self._scopes.get(method)
        if scope is None:
            raise PermissionDenied(f"method {method} has no scope assigned, so nobody may call it")
        if not principal.has_scope(scope):
            raise PermissionDenied(f"{principal.name} lacks scope {scope!r} required by {method}")
        return principal


class ClientAuthInterceptor(CallDetailsInterceptor):
    """Presents this process's identity on each outbound call that does not carry credentials already."""

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def rewrite(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        if any(key == _AUTHORIZATION for key, _ in details.metadata or ()):
            return details
        return with_metadata(details, [(_AUTHORIZATION, self._header)])
