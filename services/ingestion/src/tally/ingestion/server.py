"""Ingestion's gRPC servicers (usage and admin): translate wire messages to use-case calls, nothing more."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TypeVar

import grpc
import grpc.aio
from google.protobuf.message import DecodeError, Message

from tally.api.common.v1 import pagination_pb2
from tally.api.ingestion.v1 import events_pb2
from tally.api.ingestion.v1 import ingestion_service_pb2 as pb
from tally.api.ingestion.v1 import ingestion_service_pb2_grpc as pb_grpc
from tally.domain.errors import DomainError, InvalidArgument
from tally.ingestion.domain import KeyRow, ProducerRecord, RejectedFilter
from tally.ingestion.handlers import BatchOutcome, Ingestor, ProducerAdmin
from tally.mesh.errors import to_rpc_status
from tally.mesh.interceptors.auth import current_principal
from tally.mesh.wire import timestamp_from_wire, timestamp_to_wire
from tally.persistence.paging import decode_int_token, decode_token, page_of, page_size

SERVICE = "tally.api.ingestion.v1.IngestionService"
ADMIN_SERVICE = "tally.api.ingestion.v1.IngestionAdminService"
SCOPES = {
    f"/{SERVICE}/Ingest": "usage:write",
    f"/{SERVICE}/IngestStream": "usage:write",
    f"/{SERVICE}/ListRejected": "usage:read",
    f"/{ADMIN_SERVICE}/CreateProducer": "admin",
    f"/{ADMIN_SERVICE}/ListProducers": "admin",
    f"/{ADMIN_SERVICE}/CreateApiKey": "admin",
    f"/{ADMIN_SERVICE}/ListApiKeys": "admin",
    f"/{ADMIN_SERVICE}/RevokeApiKey": "admin",
}


def _rejected(outcome: BatchOutcome) -> list[pb.RejectedEvent]:
    return [
        pb.RejectedEvent(index=r.index, event_id=r.event_id, code=r.code, field=r.field, reason=r.reason)
        for r in outcome.rejected
    ]


M = TypeVar("M", bound=Message)


def _decoded(kind: type[M], data: bytes) -> M:
    """The request in ``data``; bytes that are not a ``kind`` (bad framing, invalid UTF-8 in a string field)
    are the caller's error, INVALID_ARGUMENT naming "request", not an UNKNOWN from the gRPC runtime."""
    try:
        return kind.FromString(data)
    except DecodeError as exc:
        raise InvalidArgument.field("request", f"is not a valid {kind.DESCRIPTOR.name}: {exc}") from None


class IngestionServicer(pb_grpc.IngestionServiceServicer):
    """Ingest and IngestStream receive their requests as bytes (see ``add_ingestion_service``)."""

    def __init__(self, ingestor: Ingestor) -> None:
        self._ingestor = ingestor

    async def Ingest(self, request: bytes, context: grpc.aio.ServicerContext) -> pb.IngestResponse:
        batch = _decoded(pb.IngestRequest, request)
        outcome = await self._ingestor.ingest(
            current_principal().name,
            batch.batch_id,
            list(batch.events),
            backfill=batch.backfill,
            size_bytes=len(request),
        )
        return pb.IngestResponse(
            batch_id=outcome.batch_id, accepted_count=outcome.accepted, rejected=_rejected(outcome)
        )

    async def IngestStream(
        self, request_iterator: AsyncIterator[bytes], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.IngestStreamResponse]:
        """One response per batch, in order, as soon as it is stored; a batch refused as a whole is answered
        with its index, id and error, and the stream goes on with the next one."""
        producer = current_principal().name
        index = 0
        async for data in request_iterator:
            yield await self._stream_batch(producer, index, data)
            index += 1

    async def _stream_batch(self, producer: str, index: int, data: bytes) -> pb.IngestStreamResponse:
        batch_id = ""
        try:
            batch = _decoded(pb.IngestStreamRequest, data)
            batch_id = batch.batch_id
            outcome = await self._ingestor.ingest(
                producer, batch.batch_id, list(batch.events), backfill=batch.backfill, size_bytes=len(data)
            )
        except DomainError as exc:
            # The contract answers this batch's failure in its own response (the same status Ingest would
            # send) so the batches before and after it stand; the mapping itself stays tally.mesh's.
            return pb.IngestStreamResponse(index=index, batch_id=batch_id, error=to_rpc_status(exc))
        return pb.IngestStreamResponse(
            index=index,
            batch_id=outcome.batch_id,
            accepted_count=outcome.accepted,
            rejected=_rejected(outcome),
        )

    async def ListRejected(
        self, request: pb.ListRejectedRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListRejectedResponse:
        limit = page_size(request.page.page_size)
        where = RejectedFilter(
            producer_id=request.producer_id or None,
            from_time=timestamp_from_wire(request.from_time) if request.HasField("from_time") else None,
            to_time=timestamp_from_wire(request.to_time) if request.HasField("to_time") else None,
            code=request.code or None,
        )
        found = await self._ingestor.list_rejected(
            current_principal().name,
            where,
            after_id=decode_int_token(request.page.page_token),
            limit=limit + 1,
        )
        records, token = page_of(found, limit, lambda record: record.id)
        return pb.ListRejectedResponse(
            rejected=[
                pb.RejectedEventRecord(
                    id=str(record.id),
                    producer_id=record.producer_id,
                    batch_id=record.batch_id,
                    index=record.rejection.index,
                    code=record.rejection.code,
                    field=record.rejection.field,
                    reason=record.rejection.reason,
                    event=events_pb2.UsageEvent(**record.payload),
                    rejected_at=timestamp_to_wire(record.received_at),
                )
                for record in records
            ],
            page=pagination_pb2.PageResponse(next_page_token=token),
        )


def _raw(data: bytes) -> bytes:
    return data


def add_ingestion_service(servicer: IngestionServicer, server: grpc.aio.Server) -> None:
    """The generated registration, except that Ingest and IngestStream get their requests as bytes: the
    servicer decodes them, so a corrupt request is INVALID_ARGUMENT (and, on a stream, one batch's error)."""
    handlers = {
        "Ingest": grpc.unary_unary_rpc_method_handler(
            servicer.Ingest,
            request_deserializer=_raw,
            response_serializer=pb.IngestResponse.SerializeToString,
        ),
        "IngestStream": grpc.stream_stream_rpc_method_handler(
            servicer.IngestStream,
            request_deserializer=_raw,
            response_serializer=pb.IngestStreamResponse.SerializeToString,
        ),
        "ListRejected": grpc.unary_unary_rpc_method_handler(
            servicer.ListRejected,
            request_deserializer=pb.ListRejectedRequest.FromString,
            response_serializer=pb.ListRejectedResponse.SerializeToString,
        ),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    server.add_registered_method_handlers(SERVICE, handlers)


def _producer_to_wire(producer: ProducerRecord) -> pb.Producer:
    return pb.Producer(
        id=producer.id,
        name=producer.name,
        description=producer.description,
        created_at=timestamp_to_wire(producer.created_at),
    )


def _key_to_wire(key: KeyRow) -> pb.ApiKey:
    reply = pb.ApiKey(
        id=key.key_id,
        producer_id=key.producer_id,
        name=key.name,
        prefix=f"tly_{key.key_id}_",
        created_at=timestamp_to_wire(key.created_at),
        scopes=sorted(key.scopes),
    )
    if key.expires_at is not None:
        reply.expires_at.CopyFrom(timestamp_to_wire(key.expires_at))
    if key.revoked_at is not None:
        reply.revoked_at.CopyFrom(timestamp_to_wire(key.revoked_at))
    return reply


class IngestionAdminServicer(pb_grpc.IngestionAdminServiceServicer):
    def __init__(self, admin: ProducerAdmin) -> None:
        self._admin = admin

    async def CreateProducer(
        self, request: pb.CreateProducerRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateProducerResponse:
        producer = await self._admin.create_producer(request.name, request.description)
        return pb.CreateProducerResponse(producer=_producer_to_wire(producer))

    async def ListProducers(
        self, request: pb.ListProducersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListProducersResponse:
        limit = page_size(request.page.page_size)
        found = await self._admin.list_producers(
            after_name=decode_token(request.page.page_token), limit=limit + 1
        )
        producers, token = page_of(found, limit, lambda producer: producer.name)
        return pb.ListProducersResponse(
            producers=[_producer_to_wire(p) for p in producers],
            page=pagination_pb2.PageResponse(next_page_token=token),
        )

    async def CreateApiKey(
        self, request: pb.CreateApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateApiKeyResponse:
        issued = await self._admin.create_key(
            request.producer_id,
            request.name,
            request.scopes,
            timestamp_from_wire(request.expires_at) if request.HasField("expires_at") else None,
        )
        return pb.CreateApiKeyResponse(api_key=_key_to_wire(issued.key), secret=issued.plaintext)

    async def ListApiKeys(
        self, request: pb.ListApiKeysRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListApiKeysResponse:
        limit = page_size(request.page.page_size)
        found = await self._admin.list_keys(
            request.producer_id,
            include_revoked=request.include_revoked,
            after_key_id=decode_token(request.page.page_token),
            limit=limit + 1,
        )
        keys, token = page_of(found, limit, lambda key: key.key_id)
        return pb.ListApiKeysResponse(
            api_keys=[_key_to_wire(k) for k in keys], page=pagination_pb2.PageResponse(next_page_token=token)
        )

    async def RevokeApiKey(
        self, request: pb.RevokeApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> pb.RevokeApiKeyResponse:
        return pb.RevokeApiKeyResponse(api_key=_key_to_wire(await self._admin.revoke_key(request.api_key_id)))
