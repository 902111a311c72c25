"""``tally nats-credentials DIR``: the NATS identities of a deployment, for its Kubernetes Secrets.

Writes ``<service>.nk`` (each service's nkey seed, 0600) and ``operator.nk`` once, keeps existing ones (so
rerunning after adding a service changes nobody else's seed), and rewrites ``authorization.conf``: the public
keys and permissions nats-server includes. Deleting a seed and rerunning rotates that identity.
"""

from __future__ import annotations

import argparse
import secrets
from pathlib import Path

from tally.cli.stack import write_private
from tally.mesh import nats_access


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = commands.add_parser(
        "nats-credentials",
        help="write NATS nkey seeds for every service and the operator, and nats-server's authorization.conf",
    )
    command.add_argument("directory", type=Path, help="where to write them (created 0700)")


def run(args: argparse.Namespace, out=print) -> int:
    directory: Path = args.directory
    names = [identity.name for identity in (*nats_access.IDENTITIES, nats_access.OPERATOR)]
    seeds = nats_access.write_seeds(directory, names)
    keys = {name: nats_access.public_key(path.read_text()) for name, path in seeds.items()}
    write_private(directory / "authorization.conf", nats_access.authorization_block(keys))
    signing_key = directory / "usage-signing.key"
    if not signing_key.exists():
        write_private(signing_key, secrets.token_hex(32) + "\n")
    out(f"wrote {len(seeds)} nkey seeds, authorization.conf and usage-signing.key in {directory}")
    for name, key in keys.items():
        out(f"  {name:<10} {key}")
    return 0
