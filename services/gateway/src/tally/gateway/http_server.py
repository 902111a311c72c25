"""uvicorn inside the mesh process: started with the gRPC server, stopped gracefully by the process's hooks."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import uvicorn
from starlette.applications import Starlette


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The process already handles SIGTERM (tally.runtime) and stops this server in its shutdown order.
        yield


class HttpServer:
    def __init__(self, app: Starlette, host: str, port: int) -> None:
        config = uvicorn.Config(app, host=host, port=port, lifespan="off", access_log=False, log_level="info")
        self._server = _EmbeddedServer(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Serve in the background; fails the process at start (like gRPC) when the port is taken."""
        self._task = asyncio.create_task(self._server.serve(), name="gateway-http")
        while not self._server.started:
            if self._task.done():
                await self._task
                raise RuntimeError("the HTTP server stopped while starting (is TALLY_HTTP_PORT free?)")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        """Finish requests in flight, then close."""
        self._server.should_exit = True
        if self._task is not None:
            await self._task
