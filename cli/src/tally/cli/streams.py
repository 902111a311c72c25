"""``tally streams migrate``: clear the way for a stream whose declaration JetStream cannot apply in place.

JetStream cannot change a stream's retention to or from work-queue, so a service refuses to start until the old
stream is gone. This removes it only once removing it loses nothing: no publisher is writing to it any more
and every consumer has acked everything in it. The services then declare it anew at their next start, with
its consumers. Dead-letter streams are left alone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from dataclasses import dataclass

import nats.js.errors
from nats.js import JetStreamContext

from tally.mesh import jetstream

EXAMPLE = """\
procedure (docs/operations.md, Stream migration):
  1. stop the stream's publishers (scale ingestion to 0 for USAGE); keep its consumers running
  2. tally streams migrate USAGE --nats-url nats://nats:4222     (waits until they have drained it)
  3. deploy the new version: its services declare the stream and its consumers anew
"""


class MigrationRefused(Exception):
    """Removing the stream now would lose messages; the message says which and what to do."""


@dataclass(frozen=True)
class Drained:
    stream: str
    messages: int
    consumers: tuple[str, ...]


async def _backlog(js: JetStreamContext, stream: str) -> tuple[int, dict[str, tuple[int, int]]]:
    """(last sequence, {consumer: (not yet delivered, delivered but not acked)})."""
    info = await js.stream_info(stream)
    pending = {
        consumer.name: (consumer.num_pending or 0, consumer.num_ack_pending or 0)
        for consumer in await js.consumers_info(stream)
    }
    return info.state.last_seq, pending


async def migrate(js: JetStreamContext, stream: str, *, wait_s: float, quiet_s: float = 2.0) -> Drained:
    """Delete ``stream`` once every consumer has drained it and no publish arrived for ``quiet_s`` seconds."""
    try:
        info = await js.stream_info(stream)
    except nats.js.errors.NotFoundError:
        raise MigrationRefused(f"stream {stream} does not exist: nothing to migrate") from None
    deadline = time.monotonic() + wait_s
    while True:
        last_seq, pending = await _backlog(js, stream)
        behind = {name: counts for name, counts in pending.items() if any(counts)}
        if not behind:
            break
        if time.monotonic() >= deadline:
            listed = ", ".join(
                f"{name} ({n} pending, {a} unacked)" for name, (n, a) in sorted(behind.items())
            )
            raise MigrationRefused(
                f"stream {stream} is not drained after {wait_s:g}s: {listed}. Keep its consumers running "
                "(and its publishers stopped) and run this again"
            )
        await asyncio.sleep(0.5)
    if not pending and info.state.messages:
        raise MigrationRefused(
            f"stream {stream} holds {info.state.messages} messages and has no consumer to have processed "
            "them; start the consumers that should read them, then run this again"
        )
    await asyncio.sleep(quiet_s)
    again, _ = await _backlog(js, stream)
    if again != last_seq:
        raise MigrationRefused(
            f"stream {stream} is still being published to ({again - last_seq} messages in {quiet_s:g}s): "
            "stop its publishers first"
        )
    messages = (await js.stream_info(stream)).state.messages
    await js.delete_stream(stream)
    return Drained(stream, messages, tuple(sorted(pending)))


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = commands.add_parser(
        "streams",
        help="operate on Tally's JetStream streams (migrate one whose retention changed)",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = command.add_subparsers(dest="streams_command", required=True)
    run = actions.add_parser(
        "migrate", help="delete a stream once its consumers drained it, so the services declare it anew"
    )
    run.add_argument("stream", help="stream name, e.g. USAGE")
    run.add_argument(
        "--nats-url",
        default=os.environ.get("TALLY_NATS_URL", "nats://127.0.0.1:4223"),
        help="NATS server URL(s), comma separated (default TALLY_NATS_URL, else the local stack's)",
    )
    run.add_argument(
        "--wait",
        type=float,
        default=300.0,
        help="seconds to wait for the consumers to drain it (default 300)",
    )


async def _run(args: argparse.Namespace) -> Drained:
    nc = await jetstream.connect(args.nats_url, name="tally-streams-migrate")
    try:
        return await migrate(nc.jetstream(), args.stream, wait_s=args.wait)
    finally:
        await nc.close()


def run(args: argparse.Namespace) -> int:
    try:
        drained = asyncio.run(_run(args))
    except MigrationRefused as exc:
        print(f"tally streams migrate: {exc}", file=sys.stderr)
        return 1
    consumers = ", ".join(drained.consumers) or "none"
    print(
        f"stream {drained.stream} deleted: every consumer ({consumers}) had acked all of it "
        f"({drained.messages} processed messages kept until now). Start the services: they declare it anew."
    )
    return 0
