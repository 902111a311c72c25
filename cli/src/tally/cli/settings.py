"""The tally command's settings: defaults for the local stack, overridable by flags."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tally.mesh.settings import parse_port, setting


@dataclass(frozen=True)
class CliSettings:
    """Where the local stack lives and which ports it takes."""

    data_dir: Path = setting("TALLY_DATA_DIR", default=Path(".tally"), parse=Path, doc="local stack data")
    """Data directory of the local stack: databases, JetStream store, keys, logs, spans."""

    base_port: int = setting("TALLY_BASE_PORT", default=50061, parse=parse_port, doc="first service port")
    """gRPC port of ingestion; the other five services take the next five ports."""

    nats_port: int = setting("TALLY_NATS_PORT", default=4223, parse=parse_port, doc="nats-server client port")
    """Client port of the stack's own nats-server (4223, so a system NATS on 4222 is left alone)."""

    nats_monitor_port: int = setting(
        "TALLY_NATS_MONITOR_PORT", default=8223, parse=parse_port, doc="nats-server monitoring port"
    )
    """HTTP monitoring port of the stack's nats-server."""

    admin_key: str | None = setting(
        "TALLY_ADMIN_KEY", default=None, secret=True, doc="admin API key for producers/keys commands"
    )
    """The admin API key `tally producers` and `tally keys` present; or the file TALLY_ADMIN_KEY_FILE names.
    Unset: the local stack's secrets/admin.key."""
