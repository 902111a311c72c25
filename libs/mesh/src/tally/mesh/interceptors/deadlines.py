"""Deadline interceptors: remember how long the caller gave us, and never give a dependency more."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

import grpc
import grpc.aio

from tally.mesh.interceptors.shapes import AroundServerInterceptor, CallDetailsInterceptor

# Absolute time.monotonic() at which the current incoming call's deadline expires; None if it has none.
_deadline: ContextVar[float | None] = ContextVar("tally_mesh_deadline", default=None)


def remaining() -> float | None:
    """Seconds left before the incoming call being served expires, or None if its caller set no deadline."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


class ServerDeadlineInterceptor(AroundServerInterceptor):
    """Records the caller's deadline for the outbound calls the servicer makes."""

    @asynccontextmanager
    async def around(
        self, details: grpc.HandlerCallDetails, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[None]:
        left = context.time_remaining()
        # Each RPC runs in its own contextvars.Context, so the value needs no reset afterwards.
        _deadline.set(None if left is None else time.monotonic() + left)
        yield


class ClientDeadlineInterceptor(CallDetailsInterceptor):
    """Gives each outbound call ``min(its timeout or the default, what our caller has left)``."""

    def __init__(self, default_timeout_s: float) -> None:
        self._default = default_timeout_s

    def rewrite(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        timeout = details.timeout if details.timeout is not None else self._default
        left = remaining()
        if left is not None:
            if left <= 0:
                # Calling would only waste the dependency's time: our caller has stopped waiting.
                raise grpc.aio.AioRpcError(
                    grpc.StatusCode.DEADLINE_EXCEEDED,
                    grpc.aio.Metadata(),
                    grpc.aio.Metadata(),
                    details="deadline of the incoming call expired before this call was made",
                )
            timeout = min(timeout, left)
        return details._replace(timeout=timeout)
