"""Metering's settings beyond the mesh's: how many usage messages one fetch takes."""

from __future__ import annotations

from dataclasses import dataclass

from tally.mesh.settings import setting


@dataclass(frozen=True)
class MeteringSettings:
    """Consumer tuning."""

    fetch_batch: int = setting(
        "TALLY_METERING_FETCH_BATCH", default=16, parse=int, doc="usage messages per JetStream fetch"
    )
    """Usage messages (each up to a whole ingest batch) taken per fetch."""
