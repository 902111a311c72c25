"""Coalescing many concurrent lookups into few batch RPCs, so per-subscription code stays simple.

``Batcher.load(key)`` waits until ``max_size`` keys are queued or ``wait`` has passed, then one ``fetch``
answers them all. If the batch call fails as a whole, each key is fetched alone, so one bad key cannot fail the
others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Batcher(Generic[K, V]):
    def __init__(
        self,
        fetch: Callable[[Sequence[K]], Awaitable[Sequence[V | BaseException]]],
        *,
        max_size: int = 500,
        wait: timedelta = timedelta(milliseconds=5),
    ) -> None:
        self._fetch = fetch
        self._max_size = max_size
        self._wait_s = wait.total_seconds()
        self._queued: list[tuple[K, asyncio.Future[V]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._running: set[asyncio.Task[None]] = set()

    async def load(self, key: K) -> V:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[V] = loop.create_future()
        self._queued.append((key, future))
        if len(self._queued) >= self._max_size:
            self._flush()
        elif self._timer is None:
            self._timer = loop.call_later(self._wait_s, self._flush)
        return await future

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._queued = self._queued, []
        if batch:
            task = asyncio.get_running_loop().create_task(self._answer(batch))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _answer(self, batch: list[tuple[K, asyncio.Future[V]]]) -> None:
        keys = [key for key, _ in batch]
        answers: list[V | BaseException]
        try:
            answers = list(await self._fetch(keys))
        except Exception as exc:
            if len(batch) == 1:
                answers = [exc]  # the key's own failure, given to its caller
            else:
                answers = list(await asyncio.gather(*(self._alone(key) for key in keys)))
        for (_, future), answer in zip(batch, answers, strict=True):
            if future.done():
                continue
            if isinstance(answer, BaseException):
                future.set_exception(answer)
            else:
                future.set_result(answer)

    async def _alone(self, key: K) -> V | BaseException:
        try:
            [answer] = await self._fetch([key])
            return answer
        except Exception as exc:
            return exc
