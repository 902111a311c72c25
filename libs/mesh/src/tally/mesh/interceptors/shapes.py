"""Interceptor plumbing for all four RPC shapes, so each interceptor only says what happens around a call."""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import grpc
import grpc.aio

Around = Callable[[grpc.aio.ServicerContext[Any, Any]], AbstractAsyncContextManager[None]]
"""Entered before the servicer runs and exited after it finished (or after its last streamed message)."""


def method_name(details: grpc.HandlerCallDetails | grpc.aio.ClientCallDetails) -> str:
    """The full method path, ``/package.Service/Method``, whichever side and type gRPC hands us."""
    method = details.method
    return method.decode() if isinstance(method, bytes) else str(method)


def split_method(method: str) -> tuple[str, str]:
    """(``package.Service``, ``Method``) of a ``/package.Service/Method`` path."""
    service, _, name = method.lstrip("/").partition("/")
    return service, name


async def _outcome(produced: Any) -> Any:
    # grpc.aio accepts both coroutine and plain functions as servicer methods.
    return await produced if inspect.isawaitable(produced) else produced


async def _stream(produced: Any) -> AsyncIterator[Any]:
    # A streaming servicer is an async generator, a plain iterator, or a coroutine using context.write().
    if inspect.isawaitable(produced):
        await produced
    elif hasattr(produced, "__aiter__"):
        async for item in produced:
            yield item
    elif produced is not None:
        for item in produced:
            yield item


def wrap_handler(handler: grpc.RpcMethodHandler, around: Around) -> grpc.RpcMethodHandler:
    """The same handler with ``around`` entered for the whole life of each call."""
    deserialize = handler.request_deserializer
    serialize = handler.response_serializer
    if handler.unary_unary is not None:
        unary_unary = handler.unary_unary

        async def call_unary_unary(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            async with around(context):
                return await _outcome(unary_unary(request, context))

        return grpc.unary_unary_rpc_method_handler(call_unary_unary, deserialize, serialize)
    if handler.unary_stream is not None:
        unary_stream = handler.unary_stream

        async def call_unary_stream(
            request: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[Any]:
            async with around(context):
                async for item in _stream(unary_stream(request, context)):
                    yield item

        return grpc.unary_stream_rpc_method_handler(call_unary_stream, deserialize, serialize)
    if handler.stream_unary is not None:
        stream_unary = handler.stream_unary

        async def call_stream_unary(requests: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            async with around(context):
                return await _outcome(stream_unary(requests, context))

        return grpc.stream_unary_rpc_method_handler(call_stream_unary, deserialize, serialize)
    if handler.stream_stream is not None:
        stream_stream = handler.stream_stream

        async def call_stream_stream(
            requests: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[Any]:
            async with around(context):
                async for item in _stream(stream_stream(requests, context)):
                    yield item

        return grpc.stream_stream_rpc_method_handler(call_stream_stream, deserialize, serialize)
    raise ValueError("RPC method handler implements no RPC shape")


class AroundServerInterceptor(grpc.aio.ServerInterceptor):
    """A server interceptor defined by one async context manager around every call it applies to."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            # Unknown method: gRPC answers UNIMPLEMENTED itself.
            return handler
        return wrap_handler(handler, lambda context: self.around(handler_call_details, context))

    @abstractmethod
    def around(
        self, details: grpc.HandlerCallDetails, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AbstractAsyncContextManager[None]: ...


def with_metadata(
    details: grpc.aio.ClientCallDetails, pairs: Iterable[tuple[str, str]]
) -> grpc.aio.ClientCallDetails:
    """``details`` with ``pairs`` appended to its outgoing metadata."""
    metadata = grpc.aio.Metadata(*tuple(details.metadata or ()))
    for key, value in pairs:
        metadata.add(key, value)
    return details._replace(metadata=metadata)


class ClientInterception(Protocol):
    """Client-side interception of all four shapes, each method as grpc.aio's interceptor ABCs define it."""

    async def intercept_unary_unary(
        self, continuation: Any, client_call_details: Any, request: Any
    ) -> Any: ...

    async def intercept_unary_stream(
        self, continuation: Any, client_call_details: Any, request: Any
    ) -> Any: ...

    async def intercept_stream_unary(
        self, continuation: Any, client_call_details: Any, request_iterator: Any
    ) -> Any: ...

    async def intercept_stream_stream(
        self, continuation: Any, client_call_details: Any, request_iterator: Any
    ) -> Any: ...


class _UnaryUnary(grpc.aio.UnaryUnaryClientInterceptor):
    def __init__(self, target: ClientInterception) -> None:
        self._target = target

    async def intercept_unary_unary(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return await self._target.intercept_unary_unary(continuation, client_call_details, request)


class _UnaryStream(grpc.aio.UnaryStreamClientInterceptor):
    def __init__(self, target: ClientInterception) -> None:
        self._target = target

    async def intercept_unary_stream(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return await self._target.intercept_unary_stream(continuation, client_call_details, request)


class _StreamUnary(grpc.aio.StreamUnaryClientInterceptor):
    def __init__(self, target: ClientInterception) -> None:
        self._target = target

    async def intercept_stream_unary(
        self, continuation: Any, client_call_details: Any, request_iterator: Any
    ) -> Any:
        return await self._target.intercept_stream_unary(continuation, client_call_details, request_iterator)


class _StreamStream(grpc.aio.StreamStreamClientInterceptor):
    def __init__(self, target: ClientInterception) -> None:
        self._target = target

    async def intercept_stream_stream(
        self, continuation: Any, client_call_details: Any, request_iterator: Any
    ) -> Any:
        return await self._target.intercept_stream_stream(continuation, client_call_details, request_iterator)


def every_shape(*targets: ClientInterception) -> list[grpc.aio.ClientInterceptor]:
    """Interceptors for a grpc.aio channel applying ``targets``, in order, to calls of every shape.

    grpc.aio files an interceptor under the first shape ABC it implements only, so one object
    implementing all four would silently skip streaming calls; each shape gets its own adapter.
    """
    return [
        adapter(target)
        for adapter in (_UnaryUnary, _UnaryStream, _StreamUnary, _StreamStream)
        for target in targets
    ]


class CallDetailsInterceptor(ABC):
    """A client interception that only rewrites the call details (metadata, timeout), for every shape."""

    @abstractmethod
    def rewrite(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails: ...

    async def intercept_unary_unary(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return await continuation(self.rewrite(client_call_details), request)

    async def intercept_unary_stream(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        return await continuation(self.rewrite(client_call_details), request)

    async def intercept_stream_unary(
        self, continuation: Any, client_call_details: Any, request_iterator: Any
    ) -> Any:
        return await continuation(self.rewrite(client_call_details), request_iterator)

    async def intercept_stream_stream(
        self, continuation: Any, client_call_details: Any, request_iterator: Any
    ) -> Any:
        return await continuation(self.rewrite(client_call_details), request_iterator)
