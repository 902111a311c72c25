"""``tally dlq list|replay``: what reached a dead-letter stream, and moving it back to its original subject.

The command talks to the broker directly, so it is for operators only: whoever may run it holds the NATS
credentials (``--creds``) that the services' own network policies keep from everyone else.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
from collections.abc import Callable
from pathlib import Path

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from tally.mesh.dead_letters import DeadLetter, dead_letter_streams, dead_letters, replay

Output = Callable[[str], None]


class DlqError(Exception):
    """A failure to report on one line, without a traceback."""


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser], data_dir: Path) -> None:
    dlq = commands.add_parser("dlq", help="list or replay messages in dead-letter streams (operators only)")
    actions = dlq.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="messages in the dead-letter streams: subject, reason, headers")
    again = actions.add_parser(
        "replay",
        help="publish dead letters to their original subject under their original id, then delete them",
    )
    for command in (listing, again):
        command.add_argument(
            "--data-dir", type=Path, default=data_dir, help=f"local stack (default {data_dir})"
        )
        command.add_argument("--nats-url", help="the broker (default: the running local stack's)")
        command.add_argument("--creds", type=Path, help="NATS credentials file of an operator")
        command.add_argument("--stream", help="one dead-letter stream (e.g. USAGE_DLQ); default: all of them")
    listing.add_argument("--limit", type=int, default=100, help="at most this many per stream (default 100)")
    listing.add_argument("--json", action="store_true", help="one JSON object per message, payload included")
    again.add_argument(
        "--sequence",
        type=int,
        action="append",
        default=[],
        help="only this sequence of --stream (repeatable)",
    )
    again.add_argument("--all", action="store_true", help="replay every message (of --stream, or everywhere)")


def run(args: argparse.Namespace, out: Output = print) -> int:
    if args.action == "replay":
        if not args.all and not args.sequence:
            raise DlqError("say what to replay: --sequence N (with --stream) or --all")
        if args.sequence and not args.stream:
            raise DlqError("--sequence needs --stream (sequences are per stream)")
    return asyncio.run(_run(args, out))


def _nats_url(args: argparse.Namespace) -> str:
    if args.nats_url:
        return str(args.nats_url)
    state_file = args.data_dir / "stack.json"
    if not state_file.exists():
        raise DlqError(
            f"no local stack is running from {args.data_dir} (start one with `tally up`, or pass --nats-url)"
        )
    try:
        return str(json.loads(state_file.read_text())["nats"])
    except (ValueError, KeyError, TypeError) as exc:
        raise DlqError(f"{state_file} does not name the broker ({exc})") from None


async def _run(args: argparse.Namespace, out: Output) -> int:
    url = _nats_url(args)
    options: dict[str, object] = {"connect_timeout": 3, "max_reconnect_attempts": 0}
    if args.creds is not None:
        options["user_credentials"] = str(args.creds)
    try:
        client: NATS = await nats.connect(url, **options)
    except Exception as exc:
        raise DlqError(f"cannot reach the broker at {url}: {exc}") from None
    try:
        js = client.jetstream()
        streams = [args.stream] if args.stream else await dead_letter_streams(js)
        if args.action == "list":
            return await _list(js, streams, args, out)
        return await _replay(js, streams, args, out)
    finally:
        await client.close()


async def _list(js: JetStreamContext, streams: list[str], args: argparse.Namespace, out: Output) -> int:
    total = 0
    for stream in streams:
        letters = await _letters(js, stream, args.limit)
        total += len(letters)
        for letter in letters:
            out(_json(letter) if args.json else _line(letter))
    if not args.json:
        out(f"{total} dead-lettered message(s) in {', '.join(streams) or 'no dead-letter stream'}")
    return 0


async def _replay(js: JetStreamContext, streams: list[str], args: argparse.Namespace, out: Output) -> int:
    left = 0
    for stream in streams:
        letters = await _letters(js, stream, None)
        if args.sequence:
            missing = set(args.sequence) - {letter.sequence for letter in letters}
            if missing:
                raise DlqError(f"{stream} has no message at sequence {', '.join(map(str, sorted(missing)))}")
            letters = [letter for letter in letters if letter.sequence in args.sequence]
        for outcome in await replay(js, letters):
            left += not outcome.replayed
            out(f"{stream} #{outcome.letter.sequence}: {outcome.note}")
    return 1 if left else 0


async def _letters(js: JetStreamContext, stream: str, limit: int | None) -> list[DeadLetter]:
    try:
        return await dead_letters(js, stream, limit=limit)
    except ValueError as exc:
        raise DlqError(str(exc)) from None
    except Exception as exc:
        raise DlqError(f"cannot read {stream}: {exc}") from None


def _line(letter: DeadLetter) -> str:
    headers = ", ".join(f"{k}={v}" for k, v in sorted(letter.headers.items()))
    return (
        f"{letter.stream} #{letter.sequence}  {letter.original_subject}  id={letter.original_msg_id}  "
        f"consumer={letter.consumer}  {len(letter.data)} bytes\n  reason: {letter.reason}\n  headers: {headers}"
    )


def _json(letter: DeadLetter) -> str:
    return json.dumps(
        {
            "stream": letter.stream,
            "sequence": letter.sequence,
            "subject": letter.original_subject,
            "msg_id": letter.original_msg_id,
            "consumer": letter.consumer,
            "reason": letter.reason,
            "headers": letter.headers,
            "stored_at": letter.stored_at.isoformat() if letter.stored_at else None,
            "payload_base64": base64.b64encode(letter.data).decode(),
        },
        sort_keys=True,
    )
