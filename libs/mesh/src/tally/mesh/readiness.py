"""Readiness: whether this process can do its work now (its broker and database reachable), kept in gRPC health.

Kubernetes asks two questions through the standard health service. Readiness (the overall service ``""`` and
each served service name) goes NOT_SERVING while a dependency is away, so no traffic is routed to a pod that
cannot commit or publish, and comes back by itself. Liveness (``LIVENESS_SERVICE``) stays SERVING while the
process runs: restarting a pod because the broker is down would not bring the broker back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from grpc_health.v1 import health_pb2
from grpc_health.v1.health import aio as health_aio
from nats.aio.client import Client as NATS

__all__ = ["LIVENESS_SERVICE", "ReadinessCheck", "ReadinessWatch", "nats_connected"]

_log = logging.getLogger(__name__)

LIVENESS_SERVICE = "tally.liveness"
"""Health service name of the liveness probe: SERVING from start to shutdown, whatever the dependencies."""

ReadinessCheck = Callable[[], Awaitable[str | None]]
"""Answers None when a dependency is usable now, else why not (one line, e.g. "NATS disconnected")."""


def nats_connected(client: NATS) -> ReadinessCheck:
    """Ready while the NATS client is connected (it reconnects by itself after a broker restart)."""

    async def check() -> str | None:
        if client.is_connected:
            return None
        return "NATS disconnected (reconnecting)" if client.is_reconnecting else "NATS not connected"

    return check


class ReadinessWatch:
    """Runs the checks every ``interval_s`` and sets the readiness of ``names`` in ``health`` from them."""

    def __init__(
        self,
        health: health_aio.HealthServicer,
        names: Sequence[str],
        checks: Sequence[ReadinessCheck],
        *,
        interval_s: float = 2.0,
        timeout_s: float = 5.0,
    ) -> None:
        self._health = health
        self._names = tuple(names)
        self._checks = tuple(checks)
        self._interval_s = interval_s
        self._timeout_s = timeout_s
        self._problems: list[str] | None = None
        self._task: asyncio.Task[None] | None = None

    async def check_now(self) -> list[str]:
        """Run every check once, publish the outcome, and return the problems found (none: ready)."""
        problems = [problem for problem in await asyncio.gather(*map(self._run, self._checks)) if problem]
        status = (
            health_pb2.HealthCheckResponse.NOT_SERVING if problems else health_pb2.HealthCheckResponse.SERVING
        )
        for name in self._names:
            await self._health.set(name, status)
        if problems != self._problems:
            if problems:
                _log.warning("not ready: %s", "; ".join(problems))
            elif self._problems is not None:
                _log.info("ready again")
            self._problems = problems
        return problems

    async def _run(self, check: ReadinessCheck) -> str | None:
        try:
            return await asyncio.wait_for(check(), timeout=self._timeout_s)
        except TimeoutError:
            return f"readiness check timed out after {self._timeout_s:g}s"
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch(), name="readiness")

    async def stop(self) -> None:
        """Stop watching, so shutdown's NOT_SERVING is not turned back into SERVING."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            await self.check_now()
