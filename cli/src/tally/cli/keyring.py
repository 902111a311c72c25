"""``tally keyring …``: issue, list and revoke operator keys in a keyring file, offline.

The keyring (hashes only) is what every service verifies keyring keys against; it is read when a service
starts, so a change takes effect at the next start (`tally up`, or a rolling restart after the Kubernetes
Secret is updated). Producer keys are not here: ingestion keeps those (`tally keys`).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path

from tally.mesh.auth import Keyring, generate_key
from tally.mesh.roles import OPERATOR_ROLES, role_scopes

Output = Callable[[str], None]


class KeyringError(Exception):
    """A failure to report on one line, without a traceback."""


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser], data_dir: Path) -> None:
    keyring = commands.add_parser(
        "keyring", help="issue, list and revoke operator keys (roles) in a keyring file, offline"
    )
    actions = keyring.add_subparsers(dest="action", required=True)
    default = data_dir / "secrets" / "keyring.json"

    def file_option(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "--keyring",
            type=Path,
            default=default,
            help=f"keyring file (default {default}, the local stack's)",
        )

    issue = actions.add_parser("issue", help="issue a key for a person with one role; printed once")
    issue.add_argument("principal", help="who holds it, e.g. a person's e-mail address")
    issue.add_argument("--role", required=True, choices=list(OPERATOR_ROLES), help="what the key may do")
    issue.add_argument(
        "--out", type=Path, help="write the key to this file (mode 0600) instead of printing it"
    )
    file_option(issue)
    listing = actions.add_parser("list", help="list the keys (ids, principals, scopes; never secrets)")
    file_option(listing)
    revoke = actions.add_parser("revoke", help="revoke a key by its id (the part after tly_)")
    revoke.add_argument("key_id")
    file_option(revoke)


def run(args: argparse.Namespace, out: Output = print) -> int:
    path: Path = args.keyring
    if args.action != "issue" and not path.exists():
        raise KeyringError(f"no keyring at {path} (start the stack once, or pass --keyring)")
    try:
        keyring = Keyring.load(path) if path.exists() else Keyring()
    except (ValueError, KeyError, OSError) as exc:
        raise KeyringError(f"cannot read the keyring {path}: {exc}") from None
    if args.action == "list":
        out(f"{'KEY ID':<16}  {'STATUS':<8}  {'PRINCIPAL':<28}  SCOPES")
        for record in sorted(keyring, key=lambda r: (r.principal, r.key_id)):
            status = "revoked" if record.revoked else "active"
            out(
                f"{record.key_id:<16}  {status:<8}  {record.principal:<28}  {','.join(sorted(record.scopes))}"
            )
        return 0
    if args.action == "revoke":
        try:
            record = keyring.revoke(args.key_id)
        except KeyError:
            raise KeyringError(f"no key {args.key_id!r} in {path}") from None
        keyring.save(path)
        out(f"key {record.key_id} of {record.principal} revoked; services refuse it from their next start")
        return 0
    plaintext, record = generate_key(args.principal, role_scopes(args.role))
    keyring.add(record)
    keyring.save(path)
    out(f"key {record.key_id} for {args.principal} ({args.role}: {', '.join(sorted(record.scopes))})")
    out("services accept it from their next start")
    if args.out is not None:
        descriptor = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(plaintext + "\n")
        out(f"written to {args.out}")
    else:
        out("store it now, it is not shown again:")
        out(plaintext)
    return 0
