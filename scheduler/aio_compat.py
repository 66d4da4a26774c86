"""Plain (sync) gRPC handlers on the grpc.aio server, served as the thread-per-call server
served them.

grpc.aio runs a sync handler in its thread pool with a thin context that lacks
abort_with_status and whose abort does not raise. `SyncHandlers`, the outermost interceptor
of every server `build_server` makes, gives each handler still sync by then (a test's fake
servicer, say) a full context instead (`SyncContext`: abort raises, as in sync gRPC, and the
status is sent from the loop), runs it in the loop's default executor (the server's bounded
pool), and steps a sync stream's generator there one item at a time, so no stream holds a
thread while its consumer waits. No Django here: the API's own interceptor does the same
with its database bracketing (dojocloud.api.interceptors).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import grpc

Behavior = Callable[..., Any]
_END = object()


def is_async(behavior: Behavior) -> bool:
    return inspect.iscoroutinefunction(behavior) or inspect.isasyncgenfunction(behavior)


class Aborted(Exception):  # noqa: N818 - carries a sync handler's abort, not an error
    """A sync handler's context.abort(): raised in its thread (as sync gRPC raises), and
    the status is sent from the loop."""

    def __init__(self, code: grpc.StatusCode, details: str, trailing: tuple[Any, ...]) -> None:
        super().__init__(details)
        self.code, self.details, self.trailing = code, details, trailing

    async def send(self, context: Any) -> None:
        """Ends the call with this status (raises grpc.aio.AbortError)."""
        await context.abort(self.code, self.details, self.trailing)


class SyncContext:
    """The context a sync handler gets in its worker thread: the grpc.ServicerContext calls
    servicers use, over the call's aio context."""

    def __init__(self, context: Any) -> None:
        self._context = context
        self.active = True
        self.set_code_to: grpc.StatusCode | None = None

    def abort(self, code: grpc.StatusCode, details: str = "", trailing_metadata: Any = ()) -> None:
        raise Aborted(code, details, tuple(trailing_metadata or ()))

    def abort_with_status(self, status: grpc.Status) -> None:
        raise Aborted(status.code, status.details, tuple(status.trailing_metadata or ()))

    def is_active(self) -> bool:
        return self.active

    def set_code(self, code: grpc.StatusCode) -> None:
        self.set_code_to = code
        self._context.set_code(code)

    def code(self) -> grpc.StatusCode | None:
        return self.set_code_to

    def __getattr__(self, name: str) -> Any:  # peer, invocation_metadata, time_remaining, ...
        return getattr(self._context, name)


Runner = Callable[..., Awaitable[Any]]


async def in_default_executor(fn: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


async def step(
    items: Iterator[Any], run: Runner = in_default_executor
) -> AsyncGenerator[Any, None]:
    """The items of a blocking iterator, each `next()` through `run` (a thread): no thread
    is held between items. Closed when abandoned."""
    try:
        while True:
            item = await run(next, items, _END)
            if item is _END:
                return
            yield item
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            await run(close)


def sync_iterator(items: AsyncIterator[Any], loop: asyncio.AbstractEventLoop) -> Iterator[Any]:
    """An async iterator of the loop, read from a worker thread one item at a time (a
    client-streaming request handed to a sync handler)."""

    async def one() -> Any:
        try:
            return await items.__anext__()
        except StopAsyncIteration:
            return _END

    while True:
        item = asyncio.run_coroutine_threadsafe(one(), loop).result()
        if item is _END:
            return
        yield item


class SyncHandlers(grpc.aio.ServerInterceptor):  # type: ignore[misc]  # untyped base
    """Serves every handler still sync when it gets here as described above."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        if handler.unary_unary is not None and not is_async(handler.unary_unary):
            return handler._replace(unary_unary=_unary(handler.unary_unary))
        if handler.unary_stream is not None and not is_async(handler.unary_stream):
            return handler._replace(unary_stream=_stream(handler.unary_stream))
        if handler.stream_unary is not None and not is_async(handler.stream_unary):
            return handler._replace(stream_unary=_client_stream(handler.stream_unary))
        return handler  # async already, or bidi-streaming (left to grpc)


def _unary(behavior: Behavior) -> Behavior:
    async def wrapper(request: Any, context: Any) -> Any:
        sync = SyncContext(context)
        try:
            return await in_default_executor(behavior, request, sync)
        except Aborted as err:
            await err.send(context)
        finally:
            sync.active = False

    return wrapper


def _client_stream(behavior: Behavior) -> Behavior:
    async def wrapper(requests: AsyncIterator[Any], context: Any) -> Any:
        sync = SyncContext(context)
        loop = asyncio.get_running_loop()
        try:
            return await in_default_executor(behavior, sync_iterator(requests, loop), sync)
        except Aborted as err:
            await err.send(context)
        finally:
            sync.active = False

    return wrapper


def _stream(behavior: Behavior) -> Behavior:
    async def wrapper(request: Any, context: Any) -> AsyncGenerator[Any, None]:
        sync = SyncContext(context)
        try:
            items = step(await in_default_executor(behavior, request, sync))
            try:
                async for item in items:
                    yield item
            finally:
                await items.aclose()
        except Aborted as err:
            await err.send(context)
        finally:
            sync.active = False

    return wrapper
