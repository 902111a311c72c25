"""The ``tally`` command: run the local stack, check it, run the demo, administer producers and keys."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

from tally.cli import (
    admin,
    dlq,
    erp,
    insights,
    keyring,
    nats_credentials,
    portal,
    quotes,
    rate,
    status,
    streams,
)
from tally.cli.settings import CliSettings
from tally.cli.stack import Stack, StackConfig, StackError
from tally.mesh.settings import SettingsError, load


def _parser(defaults: CliSettings) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tally", description="Tally: usage-based billing, run locally.")
    commands = parser.add_subparsers(dest="command", required=True)

    def stack_options(command: argparse.ArgumentParser, data_dir: Path) -> None:
        command.add_argument(
            "--data-dir", type=Path, default=data_dir, help=f"data directory (default {data_dir})"
        )
        command.add_argument(
            "--base-port",
            type=int,
            default=defaults.base_port,
            help="ingestion's gRPC port; the others follow",
        )
        command.add_argument("--nats-port", type=int, default=defaults.nats_port)
        command.add_argument("--nats-monitor-port", type=int, default=defaults.nats_monitor_port)
        command.add_argument(
            "--tls",
            action="store_true",
            help="mutual TLS between every process (gRPC and NATS), certificates from a local CA in the data dir",
        )

    up = commands.add_parser("up", help="start nats-server and all the services; Ctrl-C stops them")
    stack_options(up, defaults.data_dir)
    status.add_command(commands, defaults.data_dir)
    demo = commands.add_parser("demo", help="start a stack, show the main job end to end, stop it")
    stack_options(demo, defaults.data_dir / "demo")
    demo.add_argument(
        "--events", type=int, default=1_000_000, help="synthetic usage events to stream (default 1,000,000)"
    )
    demo.add_argument("--keep", action="store_true", help="keep the stack up afterwards (Ctrl-C stops it)")
    admin.add_commands(commands, defaults)
    keyring.add_command(commands, defaults.data_dir)
    rate.add_command(commands)
    portal.add_command(commands, defaults)
    erp.add_command(commands, defaults)
    quotes.add_command(commands, defaults)
    insights.add_command(commands)
    streams.add_command(commands)
    dlq.add_command(commands, defaults.data_dir)
    nats_credentials.add_command(commands)
    return parser


def _config(args: argparse.Namespace) -> StackConfig:
    return StackConfig(
        data_dir=args.data_dir,
        base_port=args.base_port,
        nats_port=args.nats_port,
        nats_monitor_port=args.nats_monitor_port,
        tls=args.tls,
    )


def _up(args: argparse.Namespace) -> int:
    stack = Stack(_config(args))
    print(f"starting Tally in {args.data_dir} ...", flush=True)
    stack.start()
    try:  # however this ends (Ctrl-C, a closed stdout), the services are stopped
        print("Tally is up:")
        for name, endpoint in stack.endpoints():
            print(f"  {name:<16} {endpoint}")
        print(f"admin API key: {args.data_dir / 'secrets' / 'admin.key'}")
        print(f"NATS operator nkey seed: {args.data_dir / 'secrets' / 'nats' / 'operator.nk'}")
        if args.tls:
            print(f"mutual TLS: CA and client certificate in {args.data_dir / 'tls'} (ca.pem, cli.pem)")
        print("Ctrl-C stops everything.", flush=True)
        stack.watch()
    finally:
        with contextlib.suppress(OSError):
            print("stopping ...", flush=True)
        stack.stop()
        with contextlib.suppress(OSError):
            print("stopped.")
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        defaults = load(CliSettings)
    except SettingsError as exc:
        print(f"tally: {exc}", file=sys.stderr)
        return 2
    args = _parser(defaults).parse_args(argv)
    if args.command in ("up", "demo"):
        # What this process writes into the data dir (spans, stack.json, the demo's invoice PDFs) is this
        # user's only, like what the services write (they start with the same umask).
        os.umask(0o077)
    try:
        if args.command == "up":
            return _up(args)
        if args.command == "status":
            return status.run(args)
        if args.command == "rate":
            return rate.run(args)
        if args.command == "insights":
            return insights.run(args)
        if args.command == "keyring":
            return keyring.run(args)
        if args.command == "streams":
            return streams.run(args)
        if args.command in ("producers", "keys"):
            return admin.run(args)
        if args.command == "portal-link":
            return portal.run_portal_link(args)
        if args.command == "erp":
            return erp.run(args)
        if args.command == "quotes":
            return quotes.run(args)
        if args.command == "dlq":
            return dlq.run(args)
        if args.command == "nats-credentials":
            return nats_credentials.run(args)
        from tally.cli.demo import run_demo

        return run_demo(_config(args), args.events, keep=args.keep)
    except (StackError, admin.AdminError, erp.ErpCommandError, keyring.KeyringError, dlq.DlqError) as exc:
        print(f"tally: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
