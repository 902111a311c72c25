"""Ingestion's settings beyond the mesh's: how far back events may go and how long publishing may take."""

from __future__ import annotations

from dataclasses import dataclass

from tally.mesh.settings import parse_seconds, setting


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

    key_outage_grace_s: float = setting(
        "TALLY_INGEST_KEY_OUTAGE_GRACE_SECONDS",
        default=900.0,
        parse=parse_seconds,
        doc="how long a verified producer key keeps working while the database is unreachable",
    )
    """While ingestion's database is unreachable, a key verified on this replica keeps working this long
    after its last successful check; the bound on how late a revocation made elsewhere takes effect here."""

    rejection_buffer: int = setting(
        "TALLY_INGEST_REJECTION_BUFFER",
        default=100_000,
        parse=int,
        doc="rejected events held in memory while the database is unreachable",
    )
    """Rejected events kept in memory (and written once the database is back) while it is unreachable;
    beyond this many, further ones are only logged (the Ingest response still names each of them)."""

    meter_refresh_s: float = setting(
        "TALLY_INGEST_METER_REFRESH_SECONDS",
        default=2.0,
        parse=parse_seconds,
        doc="how often the meters' value properties are reloaded from the projection",
    )
    """How often each replica reloads which properties must be numbers, besides right after a MeterChanged."""
