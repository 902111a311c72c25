"""gRPC server bootstrap: interceptors, health (readiness and liveness), reflection, binding, graceful shutdown."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import grpc
import grpc.aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio

from tally.mesh import reflection
from tally.mesh.auth import KeyVerifier
from tally.mesh.interceptors.auth import PUBLIC_SERVICES, ServerAuthInterceptor
from tally.mesh.interceptors.deadlines import ServerDeadlineInterceptor
from tally.mesh.interceptors.error_mapping import ErrorMappingInterceptor
from tally.mesh.interceptors.tracing import ServerTracingInterceptor
from tally.mesh.readiness import LIVENESS_SERVICE, ReadinessCheck, ReadinessWatch
from tally.mesh.settings import MeshSettings
from tally.mesh.tls import server_credentials, tls_material
from tally.mesh.transient import TransientClassifier, peer_outage

logger = logging.getLogger(__name__)

Registration = tuple[Callable[[Any, grpc.aio.Server], None], Any]
"""``(add_XServiceServicer_to_server, servicer)``, as generated code names them."""

ShutdownHook = Callable[[], Awaitable[None]]

MAX_MESSAGE_BYTES = 8 * 1024 * 1024
"""Ingestion batches are up to 4 MiB; twice that leaves room for encoding overhead and growth. Also the
largest reply any server sends (PDFs, long pages)."""

DEFAULT_MAX_REQUEST_BYTES = 4 * 1024 * 1024
"""The largest request a service accepts unless it declares more (ingestion) or TALLY_GRPC_MAX_REQUEST_BYTES
says otherwise: no request but a usage batch comes near it, and a bigger one is refused with
RESOURCE_EXHAUSTED before any of it is decoded."""

SERVER_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    # gRPC sets SO_REUSEPORT by default, which lets a second process "bind" a busy port and silently
    # share its traffic; we want that mistake to fail at start.
    ("grpc.so_reuseport", 0),
    # Find dead clients (a node gone, a NAT entry expired) within a minute instead of hours.
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    # Must not exceed the channels' keepalive interval, or the server answers their pings with GOAWAY.
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
    # Clients resolve DNS again only when a connection closes; cycling connections lets round_robin
    # reach replicas that Kubernetes added since.
    ("grpc.max_connection_age_ms", 300_000),
    ("grpc.max_connection_age_grace_ms", 30_000),
)


class BindError(RuntimeError):
    """The server could not listen on its address."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__(
            f"cannot listen on {address}: the port is already in use (or the host is not an address of "
            f"this machine); set TALLY_GRPC_PORT to a free port or stop the other process"
        )


class MeshServer:
    """One service's gRPC server with the mesh's interceptors, health and reflection installed."""

    def __init__(
        self,
        service: str,
        settings: MeshSettings,
        *,
        registrations: Sequence[Registration],
        service_names: Sequence[str],
        scopes: Mapping[str, str],
        verifier: KeyVerifier,
        readiness: Sequence[ReadinessCheck] = (),
        readiness_interval_s: float = 2.0,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        transient: TransientClassifier = peer_outage,
    ) -> None:
        """``readiness``: what must be reachable for this server to report SERVING (its broker, database),
        checked every ``readiness_interval_s``. ``max_request_bytes``: this service's own limit on a
        request's size; TALLY_GRPC_MAX_REQUEST_BYTES, when set, wins. ``transient``: which failures answer
        UNAVAILABLE (outages)."""
        self.max_request_bytes = settings.max_request_bytes or max_request_bytes
        self.service = service
        self._settings = settings
        self._registrations = tuple(registrations)
        self._service_names = tuple(service_names)
        self._auth = ServerAuthInterceptor(verifier, scopes)
        self._transient = transient
        self._health_server: grpc.aio.Server | None = None
        self.health = health_aio.HealthServicer()
        """Readiness (``""`` and each service name) follows ``readiness``; LIVENESS_SERVICE stays SERVING."""
        self._readiness = ReadinessWatch(
            self.health, ("", *self._service_names), readiness, interval_s=readiness_interval_s
        )
        self._server: grpc.aio.Server | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        """The port actually bound (meaningful with TALLY_GRPC_PORT=0)."""
        if self._port is None:
            raise RuntimeError(f"{self.service} server is not started")
        return self._port

    @property
    def address(self) -> str:
        return f"{self._settings.grpc_host}:{self.port}"

    async def start(self) -> None:
        # gRPC's health servicer starts with "" SERVING: until the first readiness check has run, callers would
        # be told the server is ready while its service names are still unknown (NOT_FOUND) to them.
        for name in ("", *self._service_names):
            await self.health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
        server = grpc.aio.server(
            # Outermost first: tracing sees the final status; error mapping turns auth failures
            # (raised as DomainErrors) into statuses too.
            interceptors=[
                ServerTracingInterceptor(untraced=PUBLIC_SERVICES),
                ErrorMappingInterceptor(self._transient),
                ServerDeadlineInterceptor(),
                self._auth,
            ],
            options=(("grpc.max_receive_message_length", self.max_request_bytes), *SERVER_OPTIONS),
        )
        for add, servicer in self._registrations:
            add(servicer, server)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        reflection.enable([*self._service_names, health.SERVICE_NAME], server)
        address = f"{self._settings.grpc_host}:{self._settings.grpc_port}"
        material = tls_material(self._settings)
        try:
            if material is None:
                port = server.add_insecure_port(address)
            else:
                port = server.add_secure_port(address, server_credentials(material))
        except RuntimeError as exc:
            raise BindError(address) from exc
        if port == 0:
            # Older gRPC releases report a failed bind by returning 0 instead of raising.
            raise BindError(address)
        await server.start()
        self._server = server
        self._port = port
        if self._settings.health_port is not None:
            await self._start_health_port(self._settings.health_port)
        await self.health.set(LIVENESS_SERVICE, health_pb2.HealthCheckResponse.SERVING)
        problems = await self._readiness.check_now()
        self._readiness.start()
        logger.info(
            "%s serving gRPC on %s (%s)",
            self.service,
            self.address,
            "mutual TLS" if material else "plaintext",
        )
        if problems:
            logger.warning("%s not ready yet: %s", self.service, "; ".join(problems))

    async def _start_health_port(self, port: int) -> None:
        """Health alone, in plaintext: the kubelet's gRPC probes cannot present a client certificate, and the
        serving status is all this port tells (every RPC stays on the main port, behind mutual TLS if set)."""
        server = grpc.aio.server(options=SERVER_OPTIONS)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        address = f"{self._settings.grpc_host}:{port}"
        try:
            bound = server.add_insecure_port(address)
        except RuntimeError as exc:
            raise BindError(address) from exc
        await server.start()
        self._health_server = server
        logger.info("%s serving health only, plaintext, on port %s (probes)", self.service, bound)

    async def shutdown(self, on_shutdown: Sequence[ShutdownHook] = ()) -> None:
        """Stop in the order that loses nothing: health NOT_SERVING, drain RPCs, then the hooks."""
        await self._readiness.stop()
        await self.health.enter_graceful_shutdown()
        if self._server is not None:
            await self._server.stop(self._settings.shutdown_grace_s)
        if self._health_server is not None:
            await self._health_server.stop(0)
        for hook in on_shutdown:
            try:
                await hook()
            except Exception:
                # One failing hook (say NATS already gone) must not keep the others from releasing.
                logger.exception("%s shutdown hook %r failed", self.service, hook)

    async def run_until_terminated(
        self, on_shutdown: Sequence[ShutdownHook] = (), terminated: TerminationSignals | None = None
    ) -> None:
        """Serve until SIGTERM or SIGINT, then shut down gracefully and run ``on_shutdown`` in order.

        ``terminated``: signals already being watched since the process began starting, so a SIGTERM that
        arrives while consumers are still being started is honoured (drained shutdown) instead of killing it.
        """
        signals = terminated or TerminationSignals()
        try:
            if self._server is None:
                await self.start()
            await signals.wait()
            logger.info("%s received a termination signal; shutting down", self.service)
        finally:
            signals.release()
        await self.shutdown(on_shutdown)


class TerminationSignals:
    """SIGTERM and SIGINT turned into an event from construction on (needs a running event loop)."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        for signum in self.SIGNALS:
            self._loop.add_signal_handler(signum, self._event.set)

    async def wait(self) -> None:
        await self._event.wait()

    def release(self) -> None:
        for signum in self.SIGNALS:
            self._loop.remove_signal_handler(signum)
