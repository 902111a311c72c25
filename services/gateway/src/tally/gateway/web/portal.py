"""The customer portal: a signed link opens a session for one customer; the page polls for live data."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from tally.gateway.domain.access import Viewer
from tally.gateway.events import as_json
from tally.gateway.reads import CustomerReads
from tally.gateway.web.api import pdf_response
from tally.gateway.web.viewers import PORTAL_COOKIE, Viewers


class Portal:
    def __init__(
        self, viewers: Viewers, reads: CustomerReads, templates: Jinja2Templates, *, refresh_s: float
    ) -> None:
        self._viewers = viewers
        self._reads = reads
        self._templates = templates
        self._refresh_ms = int(refresh_s * 1000)

    def routes(self) -> list[Route]:
        return [
            Route("/portal/open", self.open),
            Route("/portal", self.page),
            Route("/portal/api/live", self.live),
            Route("/portal/invoices/{invoice_id}/pdf", self.invoice_pdf),
        ]

    async def open(self, request: Request) -> Response:
        """Checks the link, keeps it as the session cookie (it expires with the link) and drops it from the URL."""
        token = request.query_params.get("token", "")
        self._viewers.links.viewer(token)  # refused (403) before any cookie is set
        response = RedirectResponse("/portal", status_code=303)
        response.set_cookie(
            PORTAL_COOKIE, token, httponly=True, samesite="lax", secure=request.url.scheme == "https"
        )
        return response

    async def _customer(self, request: Request) -> tuple[Viewer, Any]:
        viewer = self._viewers.portal(request)
        return viewer, await self._reads.customer(viewer, viewer.customer_id or "")

    async def page(self, request: Request) -> Response:
        _viewer, customer = await self._customer(request)
        window = request.query_params.get("window", "day")
        usage, invoices, credit, alerts = await asyncio.gather(
            self._reads.usage(customer, window=window),
            self._reads.invoices(customer),
            self._reads.credit(customer),
            self._reads.alerts(customer),
        )
        return self._templates.TemplateResponse(
            request,
            "portal.html",
            {
                "customer": as_json(customer),
                "usage": usage,
                "window": window,
                "invoices": [as_json(invoice) for invoice in invoices.invoices],
                "credit": credit,
                "alerts": alerts,
                "refresh_ms": self._refresh_ms,
            },
        )

    async def live(self, request: Request) -> Response:
        _, customer = await self._customer(request)
        usage = await self._reads.usage(customer, window=request.query_params.get("window", "day"))
        return JSONResponse(usage, headers={"cache-control": "no-store"})

    async def invoice_pdf(self, request: Request) -> Response:
        viewer = self._viewers.portal(request)
        reply = await self._reads.invoice_pdf(viewer, request.path_params["invoice_id"])
        return pdf_response(reply.pdf, reply.filename)
