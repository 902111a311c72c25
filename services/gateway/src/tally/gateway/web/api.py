"""The JSON API (/v1): translates HTTP requests to reads and use cases, and their results to JSON."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tally.api.invoicing.v1 import invoicing_service_pb2 as inv
from tally.domain.errors import InvalidArgument, NotFound
from tally.gateway.domain.webhooks import EVENT_TYPES
from tally.gateway.events import as_json
from tally.gateway.peers import Peers
from tally.gateway.reads import CustomerReads
from tally.gateway.web.ingest_json import MAX_BODY_BYTES, batch_answer, parse_batch
from tally.gateway.web.problems import PROBLEM_JSON
from tally.gateway.web.viewers import Viewers, bearer_token
from tally.gateway.webhook_admin import DeliveryDetail, WebhookAdmin
from tally.gateway.webhook_store import Delivery, Endpoint


def endpoint_json(endpoint: Endpoint, *, with_secret: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": endpoint.id,
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": list(endpoint.event_types),
        "customer_id": endpoint.customer_id,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "consecutive_failures": endpoint.consecutive_failures,
        "created_at": endpoint.created_at.isoformat(),
    }
    if with_secret:
        body["secret"] = endpoint.secret
    return body


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "message_id": delivery.message_id,
        "endpoint_id": delivery.endpoint_id,
        "event_type": delivery.event_type,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "next_attempt_at": delivery.next_attempt_at.isoformat() if delivery.next_attempt_at else None,
        "last_status": delivery.last_status,
        "last_error": delivery.last_error,
        "created_at": delivery.created_at.isoformat(),
    }


def detail_json(detail: DeliveryDetail) -> dict[str, Any]:
    return {
        **delivery_json(detail.delivery),
        "attempt_log": [
            {
                "attempted_at": a.attempted_at.isoformat(),
                "status_code": a.status_code,
                "error": a.error,
                "duration_ms": a.duration_ms,
                "replay": a.replay,
            }
            for a in detail.attempts
        ],
    }


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw or b"{}")
    except ValueError as exc:
        raise InvalidArgument.field("body", f"is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise InvalidArgument.field("body", "must be a JSON object")
    return body


def _int(raw: str | None, field: str) -> int | None:
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise InvalidArgument.field(field, f"must be a whole number, got {raw[:40]!r}")
    return int(raw)


def pdf_response(pdf: bytes, filename: str) -> Response:
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )


class Api:
    def __init__(self, viewers: Viewers, reads: CustomerReads, webhooks: WebhookAdmin, peers: Peers) -> None:
        self._viewers = viewers
        self._reads = reads
        self._webhooks = webhooks
        self._peers = peers

    def routes(self) -> list[Route]:
        return [
            Route("/v1/usage/batches", self.ingest, methods=["POST"]),
            Route("/v1/customers/{customer}", self.customer),
            Route("/v1/customers/{customer}/usage", self.usage),
            Route("/v1/customers/{customer}/cost-to-date", self.cost_to_date),
            Route("/v1/customers/{customer}/invoices", self.invoices),
            Route("/v1/customers/{customer}/credit", self.credit),
            Route("/v1/customers/{customer}/quotes", self.quotes),
            Route("/v1/invoices/{invoice_id}", self.invoice),
            Route("/v1/invoices/{invoice_id}/pdf", self.invoice_pdf),
            Route("/v1/quotes/{quote_id}", self.quote),
            Route("/v1/webhooks/event-types", self.event_types),
            Route("/v1/webhooks/endpoints", self.endpoints, methods=["GET", "POST"]),
            Route("/v1/webhooks/endpoints/{endpoint_id}", self.endpoint, methods=["GET", "PATCH"]),
            Route("/v1/webhooks/deliveries", self.deliveries),
            Route("/v1/webhooks/deliveries/{delivery_id}", self.delivery),
            Route("/v1/webhooks/deliveries/{delivery_id}/replay", self.replay, methods=["POST"]),
        ]

    async def ingest(self, request: Request) -> Response:
        # The caller's own key goes to ingestion: the batch is that producer's, exactly as over gRPC.
        token = bearer_token(request)
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            raise InvalidArgument.field("body", f"a batch is at most {MAX_BODY_BYTES} bytes of JSON")
        batch = parse_batch(raw)
        status, body = batch_answer(batch, await self._peers.ingest(batch, token))
        return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON if status == 400 else None)

    async def _customer(self, request: Request) -> Any:
        viewer = await self._viewers.api(request)
        return await self._reads.customer(viewer, request.path_params["customer"])

    async def customer(self, request: Request) -> Response:
        return JSONResponse(as_json(await self._customer(request)))

    async def usage(self, request: Request) -> Response:
        customer = await self._customer(request)
        return JSONResponse(
            await self._reads.usage(customer, window=request.query_params.get("window", "day"))
        )

    async def cost_to_date(self, request: Request) -> Response:
        return JSONResponse((await self._reads.cost_to_date(await self._customer(request))).as_json())

    async def invoices(self, request: Request) -> Response:
        customer = await self._customer(request)
        status_name = request.query_params.get("status", "")
        status = 0
        if status_name:
            try:
                status = inv.InvoiceStatus.Value(f"INVOICE_STATUS_{status_name.upper()}")
            except ValueError:
                raise InvalidArgument.field("status", "must be draft, finalized, paid or void") from None
        reply = await self._reads.invoices(
            customer, status=status, page_token=request.query_params.get("page_token", "")
        )
        return JSONResponse(as_json(reply))

    async def invoice(self, request: Request) -> Response:
        viewer = await self._viewers.api(request)
        return JSONResponse(as_json(await self._reads.invoice(viewer, request.path_params["invoice_id"])))

    async def invoice_pdf(self, request: Request) -> Response:
        viewer = await self._viewers.api(request)
        reply = await self._reads.invoice_pdf(viewer, request.path_params["invoice_id"])
        return pdf_response(reply.pdf, reply.filename)

    async def credit(self, request: Request) -> Response:
        return JSONResponse(await self._reads.credit(await self._customer(request)))

    async def quotes(self, request: Request) -> Response:
        return JSONResponse({"quotes": await self._reads.quotes(await self._customer(request))})

    async def quote(self, request: Request) -> Response:
        viewer = await self._viewers.api(request)
        return JSONResponse(await self._reads.quote(viewer, request.path_params["quote_id"]))

    async def event_types(self, request: Request) -> Response:
        await self._viewers.api(request)
        return JSONResponse({"event_types": [{"type": k, "description": v} for k, v in EVENT_TYPES.items()]})

    async def endpoints(self, request: Request) -> Response:
        viewer = await self._viewers.api(request)
        if request.method == "POST":
            body = await _json_body(request)
            endpoint = await self._webhooks.register(
                viewer,
                body.get("url"),
                body.get("event_types"),
                body.get("description"),
                body.get("customer_id"),
            )
            return JSONResponse(endpoint_json(endpoint, with_secret=True), status_code=201)
        return JSONResponse({"endpoints": [endpoint_json(e) for e in await self._webhooks.endpoints(viewer)]})

    async def endpoint(self, request: Request) -> Response:
        viewer = await self._viewers.api(request)
        endpoint_id = request.path_params["endpoint_id"]
        if request.method == "PATCH":
            body = await _json_body(request)
            endpoint = await self._webhooks.set_enabled(viewer, endpoint_id, body.get("enabled"))
        else:
            endpoint = await self._webhooks.endpoint(viewer, endpoint_id)
        return JSONResponse(endpoint_json(endpoint, with_secret=True))

    async def deliveries(self, request: Request) -> Response:
        viewer = await self._viewers.api(request)
        query = request.query_params
        found = await self._webhooks.deliveries(
            viewer,
            endpoint_id=query.get("endpoint_id") or None,
            state=query.get("state") or None,
            before_id=_int(query.get("before_id"), "before_id"),
            limit=_int(query.get("limit"), "limit") or 50,
        )
        return JSONResponse({"deliveries": [delivery_json(d) for d in found]})

    def _delivery_id(self, request: Request) -> int:
        delivery_id = _int(request.path_params["delivery_id"], "delivery_id")
        if delivery_id is None:
            raise NotFound("webhook delivery", "", "delivery_id")
        return delivery_id

    async def delivery(self, request: Request) -> Response:
        viewer = await self._viewers.api(request)
        return JSONResponse(detail_json(await self._webhooks.delivery(viewer, self._delivery_id(request))))

    async def replay(self, request: Request) -> Response:
        viewer = await self._viewers.api(request)
        detail = await self._webhooks.replay(viewer, self._delivery_id(request))
        return JSONResponse(detail_json(detail), status_code=202)
