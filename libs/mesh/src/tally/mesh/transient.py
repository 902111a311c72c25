"""Transient failures: a dependency that is away for now, told apart from work that fails on its own content.

A consumer that meets a transient failure pauses and retries the same message later instead of spending its
delivery budget; an RPC that meets one answers UNAVAILABLE with a retry delay instead of INTERNAL. Anything
not recognised here is treated as a failure of the content, which keeps today's bounded-retry behaviour.
"""

from __future__ import annotations

from collections.abc import Callable

import grpc
import nats.errors
import nats.js.errors

from tally.domain.errors import Unavailable

__all__ = ["TransientClassifier", "either", "peer_outage"]

TransientClassifier = Callable[[BaseException], str | None]
"""Answers why ``exc`` is transient (a short reason, safe to show a caller), or None if it is not."""

_MAX_CAUSES = 5
"""How far down ``__cause__`` a classifier looks: wrappers (``raise X from exc``) keep the original."""

_TRANSIENT_RPC_CODES = {
    grpc.StatusCode.UNAVAILABLE: "a peer service is unavailable",
    grpc.StatusCode.DEADLINE_EXCEEDED: "a peer service did not answer in time",
}


def causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from, outermost first."""
    chain = [exc]
    while (cause := chain[-1].__cause__) is not None and len(chain) < _MAX_CAUSES:
        chain.append(cause)
    return chain


def peer_outage(exc: BaseException) -> str | None:
    """Transient failures the mesh itself knows: a peer or the broker unreachable, a domain ``Unavailable``."""
    for error in causes(exc):
        if isinstance(error, Unavailable):
            return error.message
        if isinstance(error, grpc.RpcError) and hasattr(error, "code"):
            reason = _TRANSIENT_RPC_CODES.get(error.code())
            if reason is not None:
                return reason
        if isinstance(
            error,
            nats.errors.TimeoutError
            | nats.errors.NoRespondersError
            | nats.errors.ConnectionClosedError
            | nats.errors.ConnectionReconnectingError
            | nats.js.errors.ServiceUnavailableError,
        ):
            return "the message broker is unavailable"
        if isinstance(error, ConnectionError):
            return "a dependency refused or dropped the connection"
    return None


def either(*classifiers: TransientClassifier) -> TransientClassifier:
    """Transient when any of ``classifiers`` says so (the first reason wins)."""

    def classify(exc: BaseException) -> str | None:
        for classifier in classifiers:
            reason = classifier(exc)
            if reason is not None:
                return reason
        return None

    return classify
