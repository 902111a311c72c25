"""Ingestion's settings beyond the mesh's: how far back events may go and how long publishing may take."""

from __future__ import annotations

from dataclasses import dataclass

from tally.mesh.settings import parse_seconds, setting
from tally.mesh.vouching import parse_signing_keys


def parse_rate(raw: str) -> float:
    value = float(raw)
    if value < 0:
        raise ValueError(f"must be 0 (unlimited) or a positive number, got {raw!r}")
    return value


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

    full_retry_s: float = setting(
        "TALLY_INGEST_FULL_RETRY_SECONDS",
        default=5.0,
        parse=parse_seconds,
        doc="retry hint sent when the event store is full",
    )
    """The wait Ingest asks for (google.rpc.RetryInfo) when it answers UNAVAILABLE because the USAGE stream is
    full: about how long metering needs to free room once it runs again."""

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

    producer_events_per_s: float = setting(
        "TALLY_INGEST_PRODUCER_EVENTS_PER_SECOND",
        default=100_000.0,
        parse=parse_rate,
        doc="sustained events a second one producer may send to one replica (0: unlimited)",
    )
    """Each producer's sustained rate of events on each replica; above it (once its burst is spent) a
    batch is refused whole with RESOURCE_EXHAUSTED and a RetryInfo saying when to resend it."""

    producer_event_burst: float = setting(
        "TALLY_INGEST_PRODUCER_EVENT_BURST",
        default=500_000.0,
        parse=parse_rate,
        doc="events a producer may send at once above its rate (at least a batch's 10,000)",
    )
    """How many events a producer may send in a burst above its sustained rate (its bucket's size); a
    batch larger than this is refused for good, naming the burst."""

    producer_batches_per_s: float = setting(
        "TALLY_INGEST_PRODUCER_BATCHES_PER_SECOND",
        default=1_000.0,
        parse=parse_rate,
        doc="sustained batches a second one producer may send to one replica (0: unlimited)",
    )
    """Each producer's sustained rate of batches (calls) on each replica: many tiny batches cost far more
    than their events."""

    producer_batch_burst: float = setting(
        "TALLY_INGEST_PRODUCER_BATCH_BURST",
        default=5_000.0,
        parse=parse_rate,
        doc="batches a producer may send at once above its rate",
    )
    """How many batches a producer may send in a burst above its sustained batch rate."""
    rejected_retention_days: float = setting(
        "TALLY_INGEST_REJECTED_RETENTION_DAYS",
        default=30.0,
        parse=float,
        doc="rejected events older than this many days are deleted",
    )
    """How long the rejected-events log (ListRejected) keeps a rejection."""

    rejected_max_per_producer: int = setting(
        "TALLY_INGEST_REJECTED_MAX_PER_PRODUCER",
        default=100_000,
        parse=int,
        doc="rejected events kept per producer (its newest)",
    )
    """A producer sending only bad events cannot grow the log beyond this many rows (its newest are kept)."""

    rejected_prune_s: float = setting(
        "TALLY_INGEST_REJECTED_PRUNE_SECONDS",
        default=300.0,
        parse=parse_seconds,
        doc="how often the rejected-events log is pruned to its bounds",
    )
    """Besides each insert pruning its own producer, every replica prunes the whole log this often."""
