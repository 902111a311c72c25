"""One span per ERP call, and every failure sorted into retryable or rejected in one place."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import requests
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from tally.erp_sync.mapping import MappingGap
from tally.erp_sync.posting import PostingError, Rejected, Retryable
from tally.mesh import attributes, telemetry

_tracer = telemetry.tracer("tally.erp_sync.adapters")

BUSY_STATUSES = frozenset({429, 502, 503, 504})


def retry_after_s(raw: str | None) -> float | None:
    """Retry-After as seconds: a number of seconds or an HTTP date."""
    if not raw:
        return None
    raw = raw.strip()
    if raw.isdigit():
        return float(raw)
    try:
        moment = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def raise_if_busy(response: requests.Response) -> None:
    """429 and 502-504 are the ERP saying 'not now': retryable, 429 with its Retry-After and nothing applied."""
    if response.status_code not in BUSY_STATUSES:
        return
    if response.status_code == 429:
        raise Retryable(
            "rate limited (429)",
            retry_after_s=retry_after_s(response.headers.get("Retry-After")),
            maybe_applied=False,
        )
    raise Retryable(f"ERP unavailable ({response.status_code})")


def transport_failure(exc: Exception) -> PostingError | None:
    """Timeouts and dropped connections: retryable, and the write may have landed unless we never connected."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return Retryable(f"connect timed out: {exc}", maybe_applied=False)
    if isinstance(exc, requests.exceptions.Timeout):
        return Retryable(f"timed out: {exc}")
    if isinstance(exc, requests.exceptions.ConnectionError):
        return Retryable(f"connection failed: {exc}")
    if isinstance(exc, requests.exceptions.RequestException):
        return Retryable(f"request failed: {exc}")
    return None


@contextmanager
def erp_call(peer: str, operation: str, classify: Callable[[Exception], PostingError]) -> Iterator[Span]:
    """A CLIENT span named for the call, with its outcome; any failure leaves as Retryable or Rejected."""
    with _tracer.start_as_current_span(
        f"{peer} {operation}",
        kind=SpanKind.CLIENT,
        attributes={attributes.PEER_SERVICE: peer, attributes.ERP_OPERATION: operation},
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        try:
            yield span
        except MappingGap:
            span.set_attribute(attributes.OUTCOME, "unmapped")
            raise
        except Exception as exc:
            error = exc if isinstance(exc, PostingError) else (transport_failure(exc) or classify(exc))
            span.set_attribute(attributes.OUTCOME, "rejected" if isinstance(error, Rejected) else "retryable")
            span.set_status(Status(StatusCode.ERROR, error.message))
            if error is exc:
                raise
            raise error from exc
        span.set_attribute(attributes.OUTCOME, "ok")
