"""Error-mapping interceptor: servicers raise DomainErrors; this turns them into statuses, once, for all."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import grpc
import grpc.aio
from google.rpc import code_pb2
from grpc_status import rpc_status
from opentelemetry import trace

from tally.domain.errors import DomainError
from tally.mesh.errors import to_rpc_status
from tally.mesh.interceptors.shapes import AroundServerInterceptor, method_name
from tally.mesh.transient import TransientClassifier, peer_outage

logger = logging.getLogger(__name__)


class ErrorMappingInterceptor(AroundServerInterceptor):
    """Aborts with the mapped status (and google.rpc details) instead of letting gRPC answer UNKNOWN.

    ``transient`` recognises outages (the service's database or a peer away): those answer UNAVAILABLE with
    RetryInfo, logged as a warning without a traceback, since nothing is wrong with the code.
    """

    def __init__(self, transient: TransientClassifier = peer_outage) -> None:
        self._transient = transient

    @asynccontextmanager
    async def around(
        self, details: grpc.HandlerCallDetails, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[None]:
        try:
            yield
        except grpc.aio.AbortError:
            # The servicer aborted on purpose; its status stands.
            raise
        except Exception as exc:
            span = trace.get_current_span()
            span.record_exception(exc)
            status = to_rpc_status(exc, self._transient)
            if status.code == code_pb2.UNAVAILABLE and not isinstance(exc, DomainError):
                logger.warning("%s answered UNAVAILABLE: %s (%s)", method_name(details), status.message, exc)
            elif not isinstance(exc, DomainError):
                trace_id = span.get_span_context().trace_id
                logger.exception(
                    "unexpected error in %s (trace %032x)", method_name(details), trace_id, exc_info=exc
                )
                if status.code == code_pb2.INTERNAL and trace_id:
                    # Lets support find the logged traceback without showing it to the caller.
                    status.message = f"{status.message} (trace {trace_id:032x})"
            await context.abort_with_status(rpc_status.to_status(status))
