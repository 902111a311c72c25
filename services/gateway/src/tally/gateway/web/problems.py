"""Errors as HTTP: each domain error becomes one status and an RFC 9457 problem+json body naming fields."""

from __future__ import annotations

import logging
import math
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from tally.domain.errors import (
    AlreadyExists,
    Conflict,
    DomainError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)

PROBLEM_JSON = "application/problem+json"

_log = logging.getLogger(__name__)

# Most specific first, as the gRPC mapping does (tally.mesh.errors): a subclass keeps its parent's status.
_STATUSES: tuple[tuple[type[DomainError], int, str], ...] = (
    (InvalidArgument, 400, "invalid-argument"),
    (NotFound, 404, "not-found"),
    (AlreadyExists, 409, "already-exists"),
    (FailedPrecondition, 409, "failed-precondition"),
    (Conflict, 409, "conflict"),
    (Unauthenticated, 401, "unauthenticated"),
    (PermissionDenied, 403, "permission-denied"),
    (ResourceExhausted, 429, "resource-exhausted"),
    (Unavailable, 503, "unavailable"),
)


def problem(exc: BaseException) -> tuple[int, dict[str, Any]]:
    """(status, problem document) for ``exc``; anything that is not a DomainError is a 500 without detail."""
    if isinstance(exc, DomainError):
        for kind, status, slug in _STATUSES:
            if isinstance(exc, kind):
                body: dict[str, Any] = {
                    "type": f"urn:tally:problem:{slug}",
                    "title": slug.replace("-", " "),
                    "status": status,
                    "detail": exc.message,
                }
                if isinstance(exc, InvalidArgument):
                    body["errors"] = [{"field": v.field, "reason": v.reason} for v in exc.violations]
                elif isinstance(exc, NotFound | AlreadyExists) and exc.field:
                    body["errors"] = [{"field": exc.field, "reason": exc.message}]
                return status, body
        return 409, {"type": "urn:tally:problem:failed-precondition", "title": "failed precondition",
                     "status": 409, "detail": exc.message}  # fmt: skip
    return 500, {"type": "urn:tally:problem:internal", "title": "internal error", "status": 500}


def problem_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


async def json_problem(request: Request, exc: Exception) -> JSONResponse:
    status, body = problem(exc)
    if status == 500:
        _log.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
    headers = {"www-authenticate": 'Bearer realm="tally"'} if status == 401 else None
    if isinstance(exc, ResourceExhausted | Unavailable) and exc.retry_after_s is not None:
        # HTTP's own way of saying when to resend: whole seconds, rounded up so a client never comes early.
        headers = {"retry-after": str(max(1, math.ceil(exc.retry_after_s)))}
    return problem_response(status, body, headers)
