"""The outbox relay: publishes committed outbox rows to JetStream in order, marking each after its ack."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nats.js import JetStreamContext
from opentelemetry import propagate
from sqlalchemy import MetaData, Row, select, update
from sqlalchemy.engine import Engine

from tally.mesh import jetstream
from tally.mesh.nats_access import inbox_prefix
from tally.mesh.settings import SettingsError, load, setting
from tally.persistence.engine import create_engine
from tally.persistence.outbox import outbox_table

__all__ = ["OutboxRelay", "main"]

_log = logging.getLogger("tally.persistence.relay")  # not __name__: that is "__main__" under -m
_OUTBOX = outbox_table(MetaData())
_SELECT_BACKLOG = (
    select(_OUTBOX.c.id, _OUTBOX.c.msg_id, _OUTBOX.c.subject, _OUTBOX.c.payload, _OUTBOX.c.headers)
    .where(_OUTBOX.c.published_at.is_(None))
    .order_by(_OUTBOX.c.id)
)


class OutboxRelay:
    """Moves outbox rows to JetStream: at least once, in id order, deduplicated by ``Nats-Msg-Id``.

    A crash between the broker's ack and the mark republishes the same ``msg_id``: JetStream drops it within
    the stream's duplicate window, and consumers' inboxes drop it after that.
    """

    def __init__(
        self,
        engine: Engine,
        js: JetStreamContext,
        *,
        batch_size: int = 100,
        poll_interval_s: float = 1.0,
        publish_timeout_s: float = 5.0,
        retry_initial_s: float = 0.2,
        retry_max_s: float = 5.0,
    ) -> None:
        self._engine = engine
        self._js = js
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._publish_timeout_s = publish_timeout_s
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s
        self._select = _SELECT_BACKLOG.limit(batch_size)
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Publish now rather than at the next poll; call right after committing an outbox row.

        Safe to call from any thread (handlers often commit in a worker thread).
        """
        loop = self._loop
        if loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wakeup.set()
        else:
            loop.call_soon_threadsafe(self._wakeup.set)

    async def start(self) -> None:
        """Run the relay in a background task of the current loop."""
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self.run(), name="outbox-relay")

    async def stop(self) -> None:
        """Stop after the row in flight; rows not yet acked stay unpublished for the next run."""
        self._stopping.set()
        self._wakeup.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def run(self) -> None:
        """Relay until ``stop()``, backing off while the broker or the database is unavailable."""
        self._loop = asyncio.get_running_loop()
        retry_s = self._retry_initial_s
        while not self._stopping.is_set():
            self._wakeup.clear()
            try:
                published = await self.relay_once()
            except Exception as exc:
                _log.warning("outbox relay failed, retrying in %.1fs: %s", retry_s, exc)
                await self._sleep_unless_stopping(retry_s)
                retry_s = min(retry_s * 2, self._retry_max_s)
                continue
            retry_s = self._retry_initial_s
            if published < self._batch_size:
                await self._wait_for_work()

    async def relay_once(self) -> int:
        """Publish one batch of the backlog; returns how many rows were published and marked."""
        rows = await asyncio.to_thread(self._backlog)
        if not rows:
            return 0
        _log.debug("publishing %d outbox rows, ids %d..%d", len(rows), rows[0].id, rows[-1].id)
        acked: list[int] = []
        try:
            for row in rows:
                if self._stopping.is_set():
                    break
                headers = json.loads(row.headers)
                # Each row publishes in order, waiting for its ack, so consumers see events as committed.
                await jetstream.publish(
                    self._js,
                    row.subject,
                    row.payload,
                    row.msg_id,
                    headers=headers,
                    parent=propagate.extract(headers),
                    timeout_s=self._publish_timeout_s,
                )
                acked.append(row.id)
        finally:
            if acked:
                await asyncio.to_thread(self._mark_published, acked)
        return len(acked)

    def _backlog(self) -> Sequence[Row[Any, Any, Any, Any, Any]]:
        with self._engine.connect() as conn:
            return conn.execute(self._select).all()

    def _mark_published(self, ids: list[int]) -> None:
        with self._engine.begin() as conn:
            conn.execute(update(_OUTBOX).where(_OUTBOX.c.id.in_(ids)).values(published_at=datetime.now(UTC)))

    async def _wait_for_work(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout=self._poll_interval_s)

    async def _sleep_unless_stopping(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)


@dataclass(frozen=True)
class RelaySecrets:
    """The relay's secrets come from the environment or files, never only from its command line (which every
    user of the machine can read in the process list)."""

    database_url: str | None = setting(
        "TALLY_DATABASE_URL", default=None, secret=True, doc="the service's database (--database-url wins)"
    )
    nats_nkey_seed: str | None = setting(
        "TALLY_NATS_NKEY_SEED",
        default=None,
        secret=True,
        doc="the NATS identity of the service it relays for",
    )


async def _serve(args: argparse.Namespace, relay_secrets: RelaySecrets) -> None:
    database_url = args.database_url or relay_secrets.database_url
    if not database_url:
        raise SystemExit("tally.persistence.relay: set TALLY_DATABASE_URL or TALLY_DATABASE_URL_FILE")
    engine = create_engine(database_url)
    seed = relay_secrets.nats_nkey_seed
    nc = await jetstream.connect(
        args.nats_url,
        name="outbox-relay",
        nkey_seed=seed,
        inbox_prefix=inbox_prefix(args.identity) if seed and args.identity else None,
    )
    relay = OutboxRelay(
        engine,
        nc.jetstream(),
        batch_size=args.batch_size,
        poll_interval_s=args.poll_interval,
        publish_timeout_s=args.publish_timeout,
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(relay.stop()))
    _log.info("outbox relay running")
    try:
        await relay.run()
    finally:
        await nc.drain()
        engine.dispose()


def main(argv: Sequence[str] | None = None) -> None:
    """Run a relay as its own process: ``python -m tally.persistence.relay --database-url … --nats-url …``."""
    parser = argparse.ArgumentParser(prog="python -m tally.persistence.relay", description=__doc__)
    parser.add_argument(
        "--database-url",
        help="default TALLY_DATABASE_URL or the file TALLY_DATABASE_URL_FILE names (prefer those: a URL here, "
        "password included, shows in the process list)",
    )
    parser.add_argument(
        "--identity", help="service whose NATS identity (TALLY_NATS_NKEY_SEED[_FILE]) it uses"
    )
    parser.add_argument("--nats-url", required=True)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--poll-interval", type=float, default=1.0, help="seconds between backlog polls")
    parser.add_argument("--publish-timeout", type=float, default=5.0, help="seconds to wait for an ack")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("tally").setLevel(args.log_level.upper())
    try:
        relay_secrets = load(RelaySecrets)
    except SettingsError as exc:
        raise SystemExit(f"tally.persistence.relay: {exc}") from None
    asyncio.run(_serve(args, relay_secrets))


if __name__ == "__main__":
    main()
