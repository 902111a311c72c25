"""The Starlette application: routes of the API, portal and console, static files, errors as problems."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from tally.domain.errors import DomainError
from tally.gateway.web.api import Api
from tally.gateway.web.body_limit import BodyLimitMiddleware
from tally.gateway.web.console import Console
from tally.gateway.web.openapi import document
from tally.gateway.web.portal import Portal
from tally.gateway.web.problems import json_problem, problem, problem_response
from tally.gateway.web.tracing import TracingMiddleware

HERE = Path(__file__).resolve().parent


def money_filter(value: Any) -> str:
    if not isinstance(value, dict) or not value.get("amount"):
        return "–"
    try:
        return f"{value['currency']} {Decimal(value['amount']):,}"
    except InvalidOperation:
        return f"{value['currency']} {value['amount']}"


def enum_filter(value: Any) -> str:
    """INVOICE_STATUS_PAID → PAID (the last part of an enum name is what a reader needs)."""
    text = str(value)
    for prefix in ("INVOICE_STATUS_", "CREDIT_LEDGER_ENTRY_KIND_"):
        text = text.removeprefix(prefix)
    return text


def alert_text(message: dict[str, Any]) -> str:
    data = message.get("data", {})
    alert = data.get("alert", {})
    if data.get("kind") == "usage":
        return f"Usage reached {alert.get('quantity')} (threshold {alert.get('threshold')})"
    return (
        f"Spend reached {money_filter(alert.get('spend'))} (threshold {money_filter(alert.get('threshold'))})"
    )


def templates() -> Jinja2Templates:
    found = Jinja2Templates(directory=str(HERE / "templates"))
    found.env.filters.update(money=money_filter, enum=enum_filter, alert_text=alert_text)
    return found


def create_app(
    api: Api,
    portal: Portal,
    console: Console,
    found_templates: Jinja2Templates,
    *,
    max_body_bytes: int,
) -> Starlette:
    async def openapi(request: Request) -> Response:
        return JSONResponse(document())

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def root(request: Request) -> Response:
        return RedirectResponse("/console", status_code=303)

    async def errors(request: Request, exc: Exception) -> Response:
        path = request.url.path
        if path.startswith(("/portal", "/console")) and not path.startswith("/portal/api"):
            status, body = problem(exc)
            if status == 500:
                return await json_problem(request, exc)
            hint = "Ask for a new portal link." if path.startswith("/portal") and status in (401, 403) else ""
            return found_templates.TemplateResponse(
                request,
                "error.html",
                {"title": body["title"].capitalize(), "detail": body.get("detail", ""), "hint": hint},
                status_code=status,
            )
        return await json_problem(request, exc)

    async def http_errors(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        slug = "not-found" if exc.status_code == 404 else "http-error"
        return problem_response(
            exc.status_code,
            {"type": f"urn:tally:problem:{slug}", "title": str(exc.detail), "status": exc.status_code},
        )

    routes = [
        Route("/", root),
        Route("/healthz", healthz),
        Route("/v1/openapi.json", openapi),
        *api.routes(),
        *portal.routes(),
        *console.routes(),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(TracingMiddleware), Middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)],
        exception_handlers={DomainError: errors, HTTPException: http_errors, Exception: errors},
    )
