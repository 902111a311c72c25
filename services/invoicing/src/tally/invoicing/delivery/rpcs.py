"""Delivery's RPCs (ListDeliveries, ResendDocument) between the wire and the use cases."""

from __future__ import annotations

from tally.api.common.v1 import pagination_pb2
from tally.api.invoicing.v1 import invoicing_service_pb2 as pb
from tally.domain.errors import FailedPrecondition
from tally.invoicing.delivery.domain import Delivery, DeliveryKey
from tally.invoicing.delivery.handlers import Deliveries
from tally.mesh.wire import timestamp_to_wire
from tally.persistence.paging import decode_time_key, page_of, page_size, time_key

_NO_SMTP = "delivery needs a mail server: set TALLY_SMTP_HOST"


def delivery_to_wire(delivery: Delivery) -> pb.Delivery:
    message = pb.Delivery(
        id=delivery.id,
        document_kind=delivery.document_kind.value,
        document_id=delivery.document_id,
        document_number=delivery.document_number,
        customer_id=delivery.customer_id,
        recipients=list(delivery.recipients),
        state=delivery.state.value,
        attempts=delivery.attempts,
        message_id=delivery.message_id,
        created_at=timestamp_to_wire(delivery.created_at),
        log=[
            pb.DeliveryAttempt(
                attempted_at=timestamp_to_wire(attempt.attempted_at),
                outcome=attempt.outcome.value,
                detail=attempt.detail,
            )
            for attempt in delivery.log
        ],
    )
    if delivery.next_attempt_at is not None:
        message.next_attempt_at.CopyFrom(timestamp_to_wire(delivery.next_attempt_at))
    if delivery.sent_at is not None:
        message.sent_at.CopyFrom(timestamp_to_wire(delivery.sent_at))
    return message


def _key(token: str) -> DeliveryKey | None:
    decoded = decode_time_key(token)
    return None if decoded is None else DeliveryKey(*decoded)


class DeliveryRpcs:
    """``deliveries`` is None without a mail server: resends are refused, the (empty) log still listed."""

    def __init__(self, deliveries: Deliveries | None) -> None:
        self._deliveries = deliveries

    async def list(self, request: pb.ListDeliveriesRequest) -> pb.ListDeliveriesResponse:
        if self._deliveries is None:
            return pb.ListDeliveriesResponse()
        limit = page_size(request.page.page_size)
        found = await self._deliveries.list(
            request.document_id, after=_key(request.page.page_token), limit=limit + 1
        )
        page, token = page_of(found, limit, lambda d: time_key(d.created_at, d.id))
        return pb.ListDeliveriesResponse(
            deliveries=[delivery_to_wire(d) for d in page],
            page=pagination_pb2.PageResponse(next_page_token=token),
        )

    async def resend(self, request: pb.ResendDocumentRequest) -> pb.ResendDocumentResponse:
        if self._deliveries is None:
            raise FailedPrecondition(_NO_SMTP)
        return pb.ResendDocumentResponse(
            delivery=delivery_to_wire(await self._deliveries.resend(request.document_id))
        )
