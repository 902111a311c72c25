"""Metering's gRPC servicer: wire messages in and out of the use cases, nothing more."""

from __future__ import annotations

import asyncio
import json

import grpc.aio

from tally.api.common.v1 import pagination_pb2, period_pb2
from tally.api.ingestion.v1 import events_pb2
from tally.api.metering.v1 import metering_service_pb2 as pb
from tally.api.metering.v1 import metering_service_pb2_grpc as pb_grpc
from tally.domain.errors import FieldViolation, InvalidArgument
from tally.mesh.interceptors.auth import current_principal
from tally.mesh.wire import decimal_to_wire, timestamp_to_wire
from tally.metering.corrections import EventCorrections, MeterRevisions
from tally.metering.domain import (
    Aggregation,
    FilterOperator,
    MeterChange,
    MeterDefinition,
    PropertyFilter,
    update_fields,
)
from tally.metering.event_store import EventRecord
from tally.metering.handlers import ConflictReview, MeterCatalog, QuarantineReview, UsageWatermarks
from tally.metering.queries import (
    EventListing,
    MeterValues,
    UsageBucket,
    UsageQuery,
    UsageReader,
    Window,
)
from tally.metering.store import EventConflict, QuarantinedEvent, StoredMeter
from tally.persistence.paging import decode_int_token, decode_token, encode_token, page_of, page_size

SERVICE = "tally.api.metering.v1.MeteringService"
SCOPES = {
    f"/{SERVICE}/CreateMeter": "meters:write",
    f"/{SERVICE}/GetMeter": "meters:read",
    f"/{SERVICE}/ListMeters": "meters:read",
    f"/{SERVICE}/UpdateMeter": "meters:write",
    f"/{SERVICE}/Rebuild": "meters:write",
    f"/{SERVICE}/GetUsage": "usage:read",
    f"/{SERVICE}/BatchGetUsage": "usage:read",
    f"/{SERVICE}/ListEvents": "usage:read",
    f"/{SERVICE}/ListMeterValues": "usage:read",
    f"/{SERVICE}/AmendEvent": "usage:correct",
    f"/{SERVICE}/VoidEvent": "usage:correct",
    f"/{SERVICE}/ListQuarantined": "admin",
    f"/{SERVICE}/GetUsageWatermark": "usage:read",
    f"/{SERVICE}/ListConflicts": "admin",
}

VALUES_PAGE_DEFAULT = 1_000
VALUES_PAGE_MAX = 10_000
"""ListMeterValues pages: events examined per page (values are small, so pages are larger than elsewhere)."""

_WINDOWS: dict[int, Window] = {
    pb.WINDOW_UNSPECIFIED: Window.WHOLE,
    pb.WINDOW_MINUTE: Window.MINUTE,
    pb.WINDOW_HOUR: Window.HOUR,
    pb.WINDOW_DAY: Window.DAY,
    pb.WINDOW_MONTH: Window.MONTH,
}


def _aggregation_from_wire(meter: pb.Meter) -> Aggregation:
    if meter.aggregation == pb.AGGREGATION_UNSPECIFIED:
        raise InvalidArgument.field("meter.aggregation", "is required")
    return Aggregation(pb.Aggregation.Name(meter.aggregation).removeprefix("AGGREGATION_"))


def _filters_from_wire(meter: pb.Meter) -> tuple[PropertyFilter, ...]:
    filters = []
    for index, rule in enumerate(meter.filters):
        if rule.operator == pb.FILTER_OPERATOR_UNSPECIFIED:
            raise InvalidArgument.field(f"meter.filters[{index}].operator", "is required")
        name = pb.FilterOperator.Name(rule.operator).removeprefix("FILTER_OPERATOR_")
        filters.append(PropertyFilter(rule.property, FilterOperator(name), tuple(rule.values)))
    return tuple(filters)


def _meter_from_wire(meter: pb.Meter) -> MeterDefinition:
    return MeterDefinition(
        key=meter.key,
        name=meter.name,
        event_type=meter.event_type,
        aggregation=_aggregation_from_wire(meter),
        value_property=meter.value_property,
        filters=_filters_from_wire(meter),
        group_by=tuple(meter.group_by),
    )


def _change_from_wire(meter: pb.Meter, fields: tuple[str, ...]) -> MeterChange:
    return MeterChange(
        name=meter.name if "name" in fields else None,
        event_type=meter.event_type if "event_type" in fields else None,
        aggregation=_aggregation_from_wire(meter) if "aggregation" in fields else None,
        value_property=meter.value_property if "value_property" in fields else None,
        filters=_filters_from_wire(meter) if "filters" in fields else None,
        group_by=tuple(meter.group_by) if "group_by" in fields else None,
    )


def _meter_to_wire(stored: StoredMeter) -> pb.Meter:
    definition = stored.definition
    return pb.Meter(
        id=stored.id,
        key=definition.key,
        name=definition.name,
        event_type=definition.event_type,
        aggregation=pb.Aggregation.Value(f"AGGREGATION_{definition.aggregation.value}"),
        value_property=definition.value_property,
        filters=[
            pb.PropertyFilter(
                property=f.property,
                operator=pb.FilterOperator.Value(f"FILTER_OPERATOR_{f.operator.value}"),
                values=f.values,
            )
            for f in definition.filters
        ],
        group_by=definition.group_by,
        created_at=timestamp_to_wire(stored.created_at),
        updated_at=timestamp_to_wire(stored.updated_at),
    )


def _ms(stamp: object, field: str) -> int:
    try:
        return int(stamp.ToMilliseconds())  # type: ignore[attr-defined]
    except ValueError:  # protobuf checks the range: a forged Timestamp is the caller's error, not ours
        raise InvalidArgument.field(
            field,
            "is not a valid timestamp: it must lie between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z",
        ) from None


def _window_from_wire(window: int, field: str) -> Window:
    found = _WINDOWS.get(window)
    if found is None:
        raise InvalidArgument.field(
            field, f"unknown window {window}: expected one of {', '.join(pb.Window.keys())}"
        )
    return found


def _query_from_wire(query: pb.GetUsageRequest | pb.UsageQuery, *, prefix: str = "") -> UsageQuery:
    missing = [
        FieldViolation(f"{prefix}period.{bound}", "is required")
        for bound in ("start", "end")
        if not query.period.HasField(bound)
    ]
    if query.window not in _WINDOWS:  # an enum value this server does not know is not "the whole period"
        missing.append(FieldViolation(f"{prefix}window", f"unknown window {query.window}"))
    if missing:
        raise InvalidArgument(missing)
    return UsageQuery(
        customer=query.customer,
        meter_id=query.meter_id,
        start_ms=_ms(query.period.start, f"{prefix}period.start"),
        end_ms=_ms(query.period.end, f"{prefix}period.end"),
        window=_window_from_wire(query.window, f"{prefix}window"),
        group_by=tuple(query.group_by),
    )


def _bucket_to_wire(bucket: UsageBucket) -> pb.UsageBucket:
    window = period_pb2.Period()
    window.start.FromMilliseconds(bucket.start_ms)
    window.end.FromMilliseconds(bucket.end_ms)
    return pb.UsageBucket(window=window, group=bucket.group, quantity=decimal_to_wire(bucket.quantity))


def _event_to_wire(record: EventRecord) -> pb.StoredEvent:
    row = record.event
    stored = pb.StoredEvent(
        event=events_pb2.UsageEvent(
            event_id=row.event_id,
            customer=row.customer,
            event_type=row.event_type,
            timestamp_ms=row.timestamp_ms,
            properties=row.properties,
        ),
        producer_id=row.producer_id,
        batch_id=row.batch_id,
        late=record.late,
        amended=record.amended,
        voided=record.voided,
    )
    stored.received_at.FromMilliseconds(row.received_at_ms)
    return stored


def _quarantined_to_wire(found: QuarantinedEvent) -> pb.QuarantinedEvent:
    quarantined = pb.QuarantinedEvent(
        event=events_pb2.UsageEvent(
            event_id=found.event_id,
            customer=found.customer,
            event_type=found.event_type,
            timestamp_ms=found.timestamp_ms,
            properties=found.properties,
        ),
        producer_id=found.producer_id,
        batch_id=found.batch_id,
        field=found.field,
        reason=found.reason,
    )
    quarantined.quarantined_at.FromMilliseconds(found.quarantined_at_ms)
    return quarantined


def _conflict_to_wire(found: EventConflict) -> pb.EventConflict:
    row = found.received
    conflict = pb.EventConflict(
        received=events_pb2.UsageEvent(
            event_id=row.event_id,
            customer=row.customer,
            event_type=row.event_type,
            timestamp_ms=row.timestamp_ms,
            properties=row.properties,
        ),
        producer_id=found.producer_id,
        batch_id=found.batch_id,
    )
    conflict.detected_at.FromMilliseconds(found.detected_at_ms)
    return conflict


def _event_position(token: str) -> tuple[int, str, int] | None:
    raw = decode_token(token)
    if raw is None:
        return None
    try:
        at, event_id, row_id = json.loads(raw)
    except ValueError:
        raise InvalidArgument.field("page.page_token", "is not a page token this service issued") from None
    if not (isinstance(at, int) and isinstance(event_id, str) and isinstance(row_id, int)):
        raise InvalidArgument.field("page.page_token", "is not a page token this service issued")
    return at, event_id, row_id


class MeteringServicer(pb_grpc.MeteringServiceServicer):
    def __init__(
        self,
        meters: MeterCatalog,
        revisions: MeterRevisions,
        usage: UsageReader,
        events: EventListing,
        corrections: EventCorrections,
        values: MeterValues,
        quarantine: QuarantineReview,
        watermarks: UsageWatermarks,
        conflicts: ConflictReview,
    ) -> None:
        self._meters = meters
        self._revisions = revisions
        self._usage = usage
        self._events = events
        self._corrections = corrections
        self._values = values
        self._quarantine = quarantine
        self._watermarks = watermarks
        self._conflicts = conflicts

    async def CreateMeter(
        self, request: pb.CreateMeterRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateMeterResponse:
        stored = await self._revisions.create(_meter_from_wire(request.meter))
        return pb.CreateMeterResponse(meter=_meter_to_wire(stored))

    async def UpdateMeter(
        self, request: pb.UpdateMeterRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateMeterResponse:
        if not request.meter.id:
            raise InvalidArgument.field("meter.id", "is required")
        fields = update_fields(list(request.update_mask.paths))
        stored = await self._revisions.update(request.meter.id, _change_from_wire(request.meter, fields))
        return pb.UpdateMeterResponse(meter=_meter_to_wire(stored))

    async def GetMeter(
        self, request: pb.GetMeterRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetMeterResponse:
        if not request.meter_id:
            raise InvalidArgument.field("meter_id", "is required")
        return pb.GetMeterResponse(meter=_meter_to_wire(await self._meters.get(request.meter_id)))

    async def ListMeters(
        self, request: pb.ListMetersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListMetersResponse:
        limit = page_size(request.page.page_size)
        found = await self._meters.list(after_id=decode_token(request.page.page_token), limit=limit + 1)
        meters, token = page_of(found, limit, lambda meter: meter.id)
        return pb.ListMetersResponse(
            meters=[_meter_to_wire(m) for m in meters],
            page=pagination_pb2.PageResponse(next_page_token=token),
        )

    async def Rebuild(
        self, request: pb.RebuildRequest, context: grpc.aio.ServicerContext
    ) -> pb.RebuildResponse:
        if not request.meter_id:
            raise InvalidArgument.field("meter_id", "is required")
        outcome = await self._revisions.rebuild(request.meter_id)
        return pb.RebuildResponse(event_count=outcome.event_count, rollup_count=outcome.rollup_count)

    async def GetUsage(
        self, request: pb.GetUsageRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetUsageResponse:
        (found,) = await asyncio.to_thread(self._usage.read, [_query_from_wire(request)])
        return pb.GetUsageResponse(buckets=[_bucket_to_wire(bucket) for bucket in found])

    async def BatchGetUsage(
        self, request: pb.BatchGetUsageRequest, context: grpc.aio.ServicerContext
    ) -> pb.BatchGetUsageResponse:
        queries = [_query_from_wire(q, prefix=f"queries[{i}].") for i, q in enumerate(request.queries)]
        answers = await asyncio.to_thread(self._usage.read, queries, batch=True)
        return pb.BatchGetUsageResponse(
            results=[
                pb.UsageResult(query=query, buckets=[_bucket_to_wire(bucket) for bucket in found])
                for query, found in zip(request.queries, answers, strict=True)
            ]
        )

    async def ListEvents(
        self, request: pb.ListEventsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListEventsResponse:
        if not request.customer:
            raise InvalidArgument.field("customer", "is required")
        limit = page_size(request.page.page_size)
        period = request.period
        found = await asyncio.to_thread(
            self._events.list,
            request.customer,
            start_ms=_ms(period.start, "period.start") if period.HasField("start") else None,
            end_ms=_ms(period.end, "period.end") if period.HasField("end") else None,
            event_type=request.event_type or None,
            include_voided=request.include_voided,
            after=_event_position(request.page.page_token),
            limit=limit + 1,
        )
        records, token = page_of(found, limit, lambda record: json.dumps(list(record.position)))
        return pb.ListEventsResponse(
            events=[_event_to_wire(record) for record in records],
            page=pagination_pb2.PageResponse(next_page_token=token),
        )

    async def ListMeterValues(
        self, request: pb.ListMeterValuesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListMeterValuesResponse:
        missing = [
            FieldViolation(name, "is required")
            for name, given in (
                ("customer", request.customer),
                ("meter_id", request.meter_id),
                ("period.start", request.period.HasField("start")),
                ("period.end", request.period.HasField("end")),
            )
            if not given
        ]
        if missing:
            raise InvalidArgument(missing)
        if request.page.page_size < 0:
            raise InvalidArgument.field("page.page_size", "must not be negative")
        meter = await self._meters.get(request.meter_id)
        found = await asyncio.to_thread(
            self._values.page,
            request.customer,
            meter,
            start_ms=_ms(request.period.start, "period.start"),
            end_ms=_ms(request.period.end, "period.end"),
            after=_event_position(request.page.page_token),
            limit=min(request.page.page_size or VALUES_PAGE_DEFAULT, VALUES_PAGE_MAX),
        )
        reply = pb.ListMeterValuesResponse(values=[decimal_to_wire(value) for value in found.values])
        if found.next_position is not None:
            token = encode_token(json.dumps(list(found.next_position)))
            reply.page.CopyFrom(pagination_pb2.PageResponse(next_page_token=token))
        return reply

    async def AmendEvent(
        self, request: pb.AmendEventRequest, context: grpc.aio.ServicerContext
    ) -> pb.AmendEventResponse:
        amended = await self._corrections.amend(
            request.producer_id,
            request.event_id,
            dict(request.properties),
            request.reason,
            current_principal().name,
        )
        return pb.AmendEventResponse(event=_event_to_wire(amended))

    async def VoidEvent(
        self, request: pb.VoidEventRequest, context: grpc.aio.ServicerContext
    ) -> pb.VoidEventResponse:
        voided = await self._corrections.void(
            request.producer_id, request.event_id, request.reason, current_principal().name
        )
        return pb.VoidEventResponse(event=_event_to_wire(voided))

    async def ListQuarantined(
        self, request: pb.ListQuarantinedRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListQuarantinedResponse:
        limit = page_size(request.page.page_size)
        found = await self._quarantine.list(
            producer_id=request.producer_id,
            after_id=decode_int_token(request.page.page_token),
            limit=limit + 1,
        )
        events, token = page_of(found, limit, lambda event: event.id)
        return pb.ListQuarantinedResponse(
            events=[_quarantined_to_wire(event) for event in events],
            page=pagination_pb2.PageResponse(next_page_token=token),
        )

    async def GetUsageWatermark(
        self, request: pb.GetUsageWatermarkRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetUsageWatermarkResponse:
        return pb.GetUsageWatermarkResponse(watermark=await self._watermarks.now())

    async def ListConflicts(
        self, request: pb.ListConflictsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListConflictsResponse:
        limit = page_size(request.page.page_size)
        found = await self._conflicts.list(
            producer_id=request.producer_id,
            after_id=decode_int_token(request.page.page_token),
            limit=limit + 1,
        )
        conflicts, token = page_of(found, limit, lambda conflict: conflict.id)
        return pb.ListConflictsResponse(
            conflicts=[_conflict_to_wire(conflict) for conflict in conflicts],
            page=pagination_pb2.PageResponse(next_page_token=token),
        )
