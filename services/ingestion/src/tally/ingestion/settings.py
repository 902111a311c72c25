"""Ingestion's settings beyond the mesh's: how far back events may go and how long publishing may take."""

from __future__ import annotations

from dataclasses import dataclass

from tally.mesh.settings import parse_seconds, setting
from tally.mesh.vouching import parse_signing_keys


@dataclass(frozen=True)
class IngestionSettings:
    """Limits applied to every batch."""

    backfill_horizon_hours: float = setting(
        "TALLY_INGEST_BACKFILL_HORIZON_HOURS",
        default=35 * 24.0,
        parse=parse_seconds,
        doc="events older than this need a batch marked backfill",
    )
    """Events older than this many hours are rejected unless their batch is marked as a backfill."""

    usage_signing_keys: tuple[bytes, ...] | None = setting(
        "TALLY_USAGE_SIGNING_KEY",
        default=None,
        parse=parse_signing_keys,
        secret=True,
        doc="key(s) ingestion signs usage messages with (metering holds the same)",
    )
    """Keys shared with metering, comma separated, at least 32 characters each; the first signs every usage
    message (header Tally-Usage-Voucher). Usually from the file TALLY_USAGE_SIGNING_KEY_FILE names. Unset:
    messages go unsigned, and a metering that holds a key refuses them."""

    publish_timeout_s: float = setting(
        "TALLY_INGEST_PUBLISH_TIMEOUT_SECONDS", default=5.0, parse=parse_seconds, doc="JetStream ack wait"
    )
    """How long Ingest waits for JetStream to store a batch before answering UNAVAILABLE."""

    key_cache_s: float = setting(
        "TALLY_INGEST_KEY_CACHE_SECONDS",
        default=2.0,
        parse=parse_seconds,
        doc="how long a verified producer key is trusted without a database read",
    )
    """A revoked producer key stops working on every replica within this many seconds (at once on the
    replica that revoked it)."""

    meter_refresh_s: float = setting(
        "TALLY_INGEST_METER_REFRESH_SECONDS",
        default=2.0,
        parse=parse_seconds,
        doc="how often the meters' value properties are reloaded from the projection",
    )
    """How often each replica reloads which properties must be numbers, besides right after a MeterChanged."""
