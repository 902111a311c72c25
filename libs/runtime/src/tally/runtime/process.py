"""One service process: settings, telemetry, database and migrations, NATS, outbox relay, gRPC, consumers."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
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
    StreamSpec,
    connect,
    ensure_stream,
)
from tally.mesh.nats_access import inbox_prefix
from tally.mesh.readiness import nats_connected
from tally.mesh.server import MeshServer, Registration
from tally.mesh.settings import MeshSettings, SettingsError, load
from tally.mesh.tls import nats_tls_context
from tally.persistence.checkpoint import WalCheckpointer
from tally.persistence.engine import create_engine
from tally.persistence.migrations import upgrade
from tally.persistence.outbox import unpublished_count
from tally.persistence.readiness import database_reachable
from tally.persistence.relay import OutboxRelay

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
    asyncio.run(serve(definition, mesh, settings))


async def serve(definition: ServiceDefinition[S], mesh: MeshSettings, settings: S) -> None:
    """Run the service until SIGTERM/SIGINT, then stop in an order that loses nothing."""
    handle = telemetry.configure_service(definition.name, mesh)
    engine = create_engine(mesh.database_url)
    checkpointer = WalCheckpointer(engine) if engine.dialect.name == "sqlite" else None
    if mesh.migrate_on_start:
        await asyncio.to_thread(upgrade, engine, definition.migrations)
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
    for spec in definition.streams:
        await ensure_stream(js, spec)
    relay = OutboxRelay(engine, js)
    await relay.start()
    runtime = Runtime(definition.name, mesh, settings, engine, nats, js, relay)
    wiring = await definition.wire(runtime)
    keyring = Keyring.load(mesh.keyring_path)
    verifier: KeyVerifier = ChainedVerifier([keyring, *wiring.verifiers]) if wiring.verifiers else keyring
    server = MeshServer(
        definition.name,
        mesh,
        registrations=wiring.registrations,
        service_names=wiring.service_names,
        scopes=wiring.scopes,
        verifier=verifier,
        readiness=[nats_connected(nats), database_reachable(engine)],
    )
    await server.start()
    # What starting allocated lives as long as the process: freeze it out of every collection, and let the
    # young generation grow larger between collections (handlers allocate many short-lived messages), so
    # garbage collection does not pause a request for long.
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 20)
    consumers = [
        PullConsumer(js, c.spec, c.handler, together=c.together, batch=c.batch) for c in wiring.consumers
    ]
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
        ]
    )
