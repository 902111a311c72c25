"""Metering's settings beyond the mesh's: how the usage consumer fetches."""

from __future__ import annotations

from dataclasses import dataclass

from tally.mesh.settings import setting
from tally.mesh.vouching import parse_signing_keys


@dataclass(frozen=True)
class MeteringSettings:
    """Consumer tuning."""

    fetch_batch: int = setting(
        "TALLY_METERING_FETCH_BATCH", default=256, parse=int, doc="usage messages per JetStream fetch"
    )
    """Usage messages (each up to a whole ingest batch) taken per fetch and recorded in one transaction."""
    fetch_loops: int = setting(
        "TALLY_METERING_FETCH_LOOPS", default=4, parse=int, doc="concurrent fetch loops on the usage consumer"
    )
    """Fetch loops sharing the durable consumer: one prepares a fetch while another's is being written."""
    usage_signing_keys: tuple[bytes, ...] | None = setting(
        "TALLY_USAGE_SIGNING_KEY",
        default=None,
        parse=parse_signing_keys,
        secret=True,
        doc="key(s) that check ingestion's voucher on each usage message",
    )
    """The keys ingestion signs with (comma separated; any one verifies), usually from the file
    TALLY_USAGE_SIGNING_KEY_FILE names. Set, a usage message without a valid voucher is never counted: it is
    dead-lettered at once with the reason. Unset: every message on the usage subjects is trusted."""
    close_margin_s: float = setting(
        "TALLY_METERING_CLOSE_MARGIN_SECONDS",
        default=30.0,
        parse=float,
        doc="how long before an invoice's usage read a closing sweeps stored events",
    )
    """When an invoice closes a period, events of the period stored since this long before its usage was read
    are reported late (covers prepare-to-commit time and clock skew; over-reporting costs only a re-price)."""
