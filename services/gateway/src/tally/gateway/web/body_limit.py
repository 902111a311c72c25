"""The HTTP request size limit: a body larger than the gateway accepts is refused with 413 before it is read
whole, whether its length is declared up front or it arrives in chunks."""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tally.gateway.web.problems import PROBLEM_JSON


class BodyLimitMiddleware:
    """Refuses request bodies over ``max_bytes`` (413 problem+json), so no client can make the gateway buffer
    an unbounded body."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self._app = app
        self._max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self._max_bytes:
            await self._refuse(send, int(declared))
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self._max_bytes:
                    raise HTTPException(413, self._reason(seen))
            return message

        await self._app(scope, counted, send)

    def _reason(self, size: int) -> str:
        return f"the request body is larger than this gateway accepts ({self._max_bytes} bytes; got {size}+)"

    async def _refuse(self, send: Send, size: int) -> None:
        body = json.dumps(
            {"type": "urn:tally:problem:http-error", "title": self._reason(size), "status": 413}
        ).encode()
        headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
