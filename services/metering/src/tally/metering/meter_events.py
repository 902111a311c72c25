"""The MeterChanged event metering publishes (through its outbox) whenever a meter is defined, changed or deleted."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from tally.api.metering.v1 import events_pb2
from tally.api.metering.v1 import metering_service_pb2 as pb
from tally.mesh import streams
from tally.mesh.wire import timestamp_to_wire
from tally.metering.domain import MeterDefinition


class OutboxMessage(NamedTuple):
    """Arguments for ``tally.persistence.outbox.enqueue(conn, *message)``."""

    subject: str
    payload: bytes
    msg_id: str


def meter_changed(
    meter_id: str,
    definition: MeterDefinition,
    changed_at: datetime,
    *,
    deleted: bool = False,
    announcement: str = "",
) -> OutboxMessage:
    """The event for one change of a meter; ``changed_at`` is the meter's new updated_at (or deletion time).

    The message id is derived from the change, so a retried transaction enqueues the same message and
    consumers apply it once. An ``announcement`` (metering's start-up restatement of every meter) gets its own
    id, so a consumer that applied the change long ago takes it again: harmlessly, at the same ``changed_at``.
    """
    event = events_pb2.MeterChanged(
        meter_id=meter_id,
        key=definition.key,
        event_type=definition.event_type,
        aggregation=pb.Aggregation.Value(f"AGGREGATION_{definition.aggregation.value}"),
        value_property=definition.value_property,
        deleted=deleted,
        changed_at=timestamp_to_wire(changed_at),
    )
    millis = int(changed_at.timestamp() * 1000)
    msg_id = f"meter-changed:{meter_id}:{millis}:{'deleted' if deleted else 'live'}"
    if announcement:
        msg_id += f":announced:{announcement}"
    return OutboxMessage(streams.METER_CHANGED, event.SerializeToString(), msg_id)
