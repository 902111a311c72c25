"""What ingestion consumes: metering's MeterChanged, projected into ``meter_projection`` through the inbox."""

from __future__ import annotations

import logging

from tally.api.metering.v1 import events_pb2 as metering_events
from tally.api.metering.v1 import metering_service_pb2 as metering_pb
from tally.ingestion.domain import MeterView
from tally.ingestion.value_properties import ValuePropertyIndex
from tally.mesh import streams
from tally.mesh.jetstream import ConsumerSpec, Delivery

METER_PROJECTION = ConsumerSpec(
    stream=streams.METERING.name, durable="ingestion-meter-projection", filter_subject=streams.METER_CHANGED
)

_log = logging.getLogger(__name__)


def _aggregation(value: int) -> str:
    try:
        return metering_pb.Aggregation.Name(value).removeprefix("AGGREGATION_")
    except ValueError:
        # An aggregation newer than this build: not known to need numbers, so nothing gets rejected for it.
        return "UNSPECIFIED"


class MeterChangedHandler:
    """Decodes one MeterChanged and applies it through the index (upsert + inbox claim in one transaction, then
    the in-memory map reloaded)."""

    def __init__(self, index: ValuePropertyIndex) -> None:
        self._index = index

    async def __call__(self, delivery: Delivery) -> None:
        change = metering_events.MeterChanged.FromString(delivery.data)
        msg_id = delivery.msg_id or f"{streams.METERING.name}:{delivery.stream_sequence}"
        meter = MeterView(
            change.meter_id, change.event_type, _aggregation(change.aggregation), change.value_property
        )
        applied = await self._index.apply(
            msg_id,
            meter,
            change.key,
            deleted=change.deleted,
            changed_at_ms=change.changed_at.ToMilliseconds(),
        )
        if applied:
            _log.info(
                "meter %s (%s) %s: %s %s of %r",
                change.key,
                change.meter_id,
                "deleted" if change.deleted else "changed",
                meter.aggregation,
                meter.event_type,
                meter.value_property,
            )
