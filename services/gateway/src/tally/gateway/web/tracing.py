"""A SERVER span per HTTP request (continuing a caller's ``traceparent``), so the gRPC calls it makes nest under it."""

from __future__ import annotations

from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tally.mesh import attributes, telemetry

_tracer = telemetry.tracer("tally.gateway.http")


class TracingMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        carrier = {key.decode("latin-1"): value.decode("latin-1") for key, value in scope.get("headers", [])}
        parent = propagate.extract(carrier)
        status: dict[str, Any] = {}

        async def send_and_record(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        token = otel_context.attach(parent)
        try:
            with _tracer.start_as_current_span(
                f"{scope['method']} {scope['path']}",
                kind=SpanKind.SERVER,
                attributes={
                    attributes.HTTP_REQUEST_METHOD: scope["method"],
                    attributes.URL_PATH: scope["path"],
                },
            ) as span:
                await self.app(scope, receive, send_and_record)
                code = status.get("code", 500)
                span.set_attribute(attributes.HTTP_RESPONSE_STATUS_CODE, code)
                route = scope.get("route")
                if route is not None:
                    span.set_attribute(attributes.HTTP_ROUTE, route.path)
                    span.update_name(f"{scope['method']} {route.path}")
                if code >= 500:
                    span.set_status(Status(StatusCode.ERROR))
        finally:
            otel_context.detach(token)
