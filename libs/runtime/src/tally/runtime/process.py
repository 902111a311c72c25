"""One service process: settings, telemetry, database and migrations, NATS, outbox relay, gRPC, consumers."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import grpc.aio
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from sqlalchemy.engine import Engine

from tally.mesh import metrics, streams, telemetry
from tally.mesh.auth import ChainedVerifier, Keyring, KeyVerifier
from tally.mesh.channel import open_channel
from tally.mesh.jetstream import (
    BatchHandler,
    ConsumerSpec,
    Handler,
    PullConsumer,
    StreamCapacityError,
    StreamMigrationNeeded,
    StreamSpec,
    connect,
    ensure_stream,
)
from tally.mesh.nats_access import inbox_prefix
from tally.mesh.readiness import nats_connected
from tally.mesh.server import DEFAULT_MAX_REQUEST_BYTES, MeshServer, Registration, TerminationSignals
from tally.mesh.settings import MeshSettings, SettingsError, load
from tally.mesh.tls import nats_tls_context
from tally.mesh.transient import either, peer_outage
from tally.persistence.checkpoint import WalCheckpointer
from tally.persistence.engine import create_engine
from tally.persistence.migrations import upgrade
from tally.persistence.outbox import unpublished_count
from tally.persistence.readiness import database_reachable
from tally.persistence.relay import OutboxRelay
from tally.persistence.transient import database_outage

S = TypeVar("S")

_log = logging.getLogger("tally.runtime")


@dataclass
class Consumer:
    """A durable pull consumer the service runs: one message at a time (``handler``) or a fetch at a time."""

    spec: ConsumerSpec
    handler: Handler | None = None
    together: BatchHandler | None = None
    """Handles a whole fetch in one call (one transaction, one commit): the usage hot path."""
    batch: int = 100


@dataclass
class Wiring:
    """What a service plugs into the process: its servicers, the scope of each RPC, its consumers."""

    registrations: Sequence[Registration]
    service_names: Sequence[str]
    scopes: Mapping[str, str]
    consumers: Sequence[Consumer] = ()
    verifiers: Sequence[KeyVerifier] = ()
    """Verifiers tried after the keyring (e.g. ingestion's producer keys in its own database)."""
    background: Sequence[Callable[[], Coroutine[Any, Any, None]]] = ()
    """Long-running coroutines started with the server and cancelled at shutdown."""
    on_shutdown: Sequence[Callable[[], Awaitable[None]]] = ()
    serves_without_database: bool = False
    """Readiness ignores the database and paused consumers: the service's main RPCs keep working through an
    outage of its own database (ingestion: Ingest needs only the broker), so it must stay routable."""


@dataclass
class Runtime(Generic[S]):
    """The resources a service's wiring receives; the process owns and closes them."""

    name: str
    mesh: MeshSettings
    settings: S
    engine: Engine
    nats: NATS
    js: JetStreamContext
    relay: OutboxRelay
    _channels: list[grpc.aio.Channel] = field(default_factory=list)

    def channel(self, target: str, *, idempotent: Iterable[tuple[str, str]] = ()) -> grpc.aio.Channel:
        """A mesh channel to a peer service, closed when the process stops."""
        channel = open_channel(target, self.mesh, idempotent=idempotent)
        self._channels.append(channel)
        return channel

    async def close_channels(self) -> None:
        for channel in self._channels:
            await channel.close()


TRANSIENT = either(database_outage, peer_outage)
"""What counts as an outage in every service: its database or a peer away (see tally.mesh.transient)."""

START_RETRY_INITIAL_S = 0.5
START_RETRY_MAX_S = 15.0
"""While the database is unreachable at start, attempts wait from the first to the second, doubling."""

GC_YOUNG_THRESHOLD = 20_000
"""Allocations between young-generation collections (Python's default is 700)."""


@dataclass(frozen=True)
class ServiceDefinition(Generic[S]):
    """Everything the shared process needs to know about one service."""

    name: str
    migrations: Path
    settings_type: type[S]
    wire: Callable[[Runtime[S]], Awaitable[Wiring]]
    streams: Sequence[StreamSpec] = streams.ALL
    """Streams declared at start (idempotent): those it publishes to and those it consumes."""
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    """The largest gRPC request this service accepts (TALLY_GRPC_MAX_REQUEST_BYTES overrides it)."""


def main(definition: ServiceDefinition[Any], argv: Sequence[str] | None = None) -> None:
    """Entry point of ``python -m tally.<name>``: ``serve`` (default) or ``migrate``."""
    parser = argparse.ArgumentParser(prog=f"python -m tally.{definition.name}")
    parser.add_argument("command", nargs="?", default="serve", choices=["serve", "migrate"])
    args = parser.parse_args(argv)
    try:
        mesh = load(MeshSettings)
        settings = load(definition.settings_type)
    except SettingsError as exc:
        print(f"tally.{definition.name}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    telemetry.configure_logging(definition.name, mesh.log_format)
    if args.command == "migrate":
        upgrade(mesh.database_url, definition.migrations)
        _log.info("%s database migrated", definition.name)
        return
    try:
        asyncio.run(serve(definition, mesh, settings))
    except (StreamCapacityError, StreamMigrationNeeded) as exc:
        # The broker cannot hold the streams as declared: say what to change, no traceback.
        print(f"tally.{definition.name}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


async def wait_for_database(
    definition: ServiceDefinition[Any],
    mesh: MeshSettings,
    engine: Engine,
    terminated: Callable[[], Awaitable[object]],
) -> bool:
    """Until the database answers (and, with migrate_on_start, is migrated), retry with capped backoff.

    Meanwhile a stand-in gRPC server answers health: liveness SERVING, readiness NOT_SERVING with the reason,
    so an orchestrator neither routes traffic here nor restarts the process. Returns False when ``terminated``
    (waiting for SIGTERM or SIGINT) returned first: the process then exits cleanly.
    """
    keyring = Keyring.load(mesh.keyring_path)
    standin: MeshServer | None = None
    signalled: asyncio.Future[object] = asyncio.ensure_future(terminated())
    wait_s = START_RETRY_INITIAL_S
    started = time.monotonic()
    try:
        while True:
            try:
                await asyncio.to_thread(_reach_database, definition, mesh, engine)
                if standin is not None:
                    _log.info(
                        "%s database available after %.0fs", definition.name, time.monotonic() - started
                    )
                return True
            except Exception as exc:
                if database_outage(exc) is None:
                    raise
                _log.warning(
                    "%s database unavailable at start, retrying in %.1fs: %s",
                    definition.name,
                    wait_s,
                    str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                )
            if standin is None:
                standin = MeshServer(
                    definition.name,
                    mesh,
                    registrations=(),
                    service_names=(),
                    scopes={},
                    verifier=keyring,
                    readiness=[database_reachable(engine)],
                )
                await standin.start()
            await asyncio.wait([signalled], timeout=wait_s)
            if signalled.done():
                return False
            wait_s = min(wait_s * 2, START_RETRY_MAX_S)
    finally:
        signalled.cancel()
        if standin is not None:
            # Free the port for the real server; the gap is a few milliseconds of refused health checks.
            await standin.shutdown()


def _reach_database(definition: ServiceDefinition[Any], mesh: MeshSettings, engine: Engine) -> None:
    if mesh.migrate_on_start:
        upgrade(engine, definition.migrations)
    else:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")


async def serve(definition: ServiceDefinition[S], mesh: MeshSettings, settings: S) -> None:
    """Run the service until SIGTERM/SIGINT, then stop in an order that loses nothing."""
    terminated = TerminationSignals()
    handle = telemetry.configure_service(definition.name, mesh)
    engine = create_engine(
        mesh.database_url,
        statement_timeout_s=mesh.database_statement_timeout_s,
        lock_timeout_s=mesh.database_lock_timeout_s,
    )
    checkpointer = WalCheckpointer(engine) if engine.dialect.name == "sqlite" else None
    ready = await wait_for_database(definition, mesh, engine, terminated.wait)
    if not ready:
        terminated.release()
        await asyncio.to_thread(engine.dispose)
        handle.shutdown()
        return
    if checkpointer is not None:
        checkpointer.start()
    nats = await connect(
        [url.strip() for url in mesh.nats_url.split(",")],
        name=f"tally-{definition.name}",
        nkey_seed=mesh.nats_nkey_seed,
        inbox_prefix=inbox_prefix(definition.name) if mesh.nats_nkey_seed else None,
        tls=nats_tls_context(mesh),
    )
    js = nats.jetstream()
    try:
        await streams.check_capacity(js, mesh)
        for spec in definition.streams:
            await ensure_stream(js, streams.sized(spec, mesh))
    except BaseException:
        await nats.close()
        if checkpointer is not None:
            await asyncio.to_thread(checkpointer.stop)
        await asyncio.to_thread(engine.dispose)
        handle.shutdown()
        raise
    relay = OutboxRelay(engine, js)
    await relay.start()
    runtime = Runtime(definition.name, mesh, settings, engine, nats, js, relay)
    wiring = await definition.wire(runtime)
    keyring = Keyring.load(mesh.keyring_path)
    verifier: KeyVerifier = ChainedVerifier([keyring, *wiring.verifiers]) if wiring.verifiers else keyring
    consumers = [
        PullConsumer(js, c.spec, c.handler, together=c.together, batch=c.batch, transient=TRANSIENT)
        for c in wiring.consumers
    ]
    server = MeshServer(
        definition.name,
        mesh,
        registrations=wiring.registrations,
        service_names=wiring.service_names,
        scopes=wiring.scopes,
        verifier=verifier,
        readiness=[
            nats_connected(nats),
            *(
                []
                if wiring.serves_without_database
                else [database_reachable(engine), *(c.readiness() for c in consumers)]
            ),
        ],
        transient=TRANSIENT,
        max_request_bytes=definition.max_request_bytes,
    )
    await server.start()
    # What starting allocated lives as long as the process: freeze it out of every collection, and let the
    # young generation grow larger between collections (handlers allocate many short-lived messages), so
    # garbage collection does not pause a request for long.
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 20)
    for consumer in consumers:
        await consumer.start()
    observed = [
        metrics.OUTBOX_BACKLOG.observe(lambda: [metrics.Observation(unpublished_count(engine))]),
        metrics.CONSUMER_LAG.observe(
            metrics.consumer_lag(
                js, [(c.spec.stream, c.spec.durable) for c in wiring.consumers], asyncio.get_running_loop()
            )
        ),
    ]
    tasks = [asyncio.create_task(job(), name=f"{definition.name}-background") for job in wiring.background]

    async def stop_consumers() -> None:
        for consumer in consumers:
            await consumer.stop()

    async def stop_background() -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def release() -> None:
        for stop_observing in observed:
            stop_observing()
        if checkpointer is not None:
            await asyncio.to_thread(checkpointer.stop)
        await asyncio.to_thread(engine.dispose)
        handle.shutdown()

    # Health goes NOT_SERVING and in-flight RPCs finish first; then consumers stop taking work, the relay
    # publishes what is committed, NATS drains (flushing acks), and telemetry flushes last.
    await server.run_until_terminated(
        on_shutdown=[
            stop_consumers,
            stop_background,
            *wiring.on_shutdown,
            relay.stop,
            runtime.close_channels,
            nats.drain,
            release,
        ],
        terminated=terminated,
    )
