"""One grpc.aio server interceptor around every unary, server-streaming and client-streaming
handler:

* runs a plain (sync) handler in the server's thread pool (offload.in_unary_thread), so the
  event loop never waits on the database; coroutine and async-generator handlers (the
  streams) run on the loop, and a sync generator is stepped in the stream pool, one item at
  a time, so no stream holds a thread while it waits;
* maps a raised DojoError to its gRPC status with details (errors.to_grpc_status), so
  servicers just raise; a bug answers INTERNAL without its message;
* records request count and latency by method and final code;
* sends a stream's `bytes` answers as they are (already serialized: `sent_as_is`);
* brackets each call's database use as Django brackets a web request (offload.with_db:
  connections are kept for CONN_MAX_AGE and dropped when broken or old);
* limits failed API-key authentications per peer address (api.guessing): past the limit a
  peer gets RESOURCE_EXHAUSTED with RetryInfo on every call until its window ends.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import Any

import grpc

from dojocloud.api import guessing, metrics
from dojocloud.api.errors import to_grpc_status
from dojocloud.api.offload import in_stream_thread, in_unary_thread, iterate
from dojocloud.common.errors import DojoError, Unauthenticated
from scheduler.aio_compat import Aborted, Behavior, SyncContext, is_async, sync_iterator

log = logging.getLogger(__name__)

INTERNAL_DETAILS = "internal error (logged on the server)"
DEADLINE_SLACK_S = 0.05


class HandlerInterceptor(grpc.aio.ServerInterceptor):
    """A server interceptor that replaces each method's handler; subclasses say how."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        return self.wrap(handler, handler_call_details.method)

    def wrap(self, handler: Any, method: str) -> Any:
        """The handler to serve `method` ("/dojo.v1.JobService/GetJob") with."""
        raise NotImplementedError


class ApiInterceptor(HandlerInterceptor):
    def wrap(self, handler: Any, method: str) -> Any:
        replace = {}
        if handler.unary_stream is not None and handler.response_serializer is not None:
            replace["response_serializer"] = sent_as_is(handler.response_serializer)
        return wrap_handler(
            handler,
            lambda b: _unary(b, method),
            lambda b: _streaming(b, method),
            lambda b: _client_streaming(b, method),
            **replace,
        )


def sent_as_is(serializer: Callable[[Any], bytes]) -> Callable[[Any], bytes]:
    """A stream's serializer that sends a `bytes` answer as it is: a message serialized
    once for many streams (WatchJob's shared followers) is not serialized again for each."""

    def serialize(message: Any) -> bytes:
        return message if type(message) is bytes else serializer(message)

    return serialize


def wrap_handler(
    handler: Any,
    unary: Callable[[Behavior], Behavior],
    streaming: Callable[[Behavior], Behavior],
    client_streaming: Callable[[Behavior], Behavior] | None = None,
    **replace: Any,
) -> Any:
    """The handler with its unary, server-streaming or (given `client_streaming`)
    client-streaming behaviour wrapped and the `replace` fields set; bidi-streaming
    handlers (reflection) are returned as they are."""
    if handler.unary_unary is not None:
        return handler._replace(unary_unary=unary(handler.unary_unary), **replace)
    if handler.unary_stream is not None:
        return handler._replace(unary_stream=streaming(handler.unary_stream), **replace)
    if handler.stream_unary is not None and client_streaming is not None:
        return handler._replace(stream_unary=client_streaming(handler.stream_unary), **replace)
    return handler


def _unary(behavior: Behavior, method: str) -> Behavior:
    async def wrapper(request: Any, context: Any) -> Any:
        call = _Call(context, method)
        try:
            if is_async(behavior):
                await call.admit()
                return await behavior(request, call.aio_context)
            return await in_unary_thread(_run_sync, call, behavior, request)
        except BaseException as err:
            await call.fail(err)
            raise
        finally:
            call.finish()

    return wrapper


def _client_streaming(behavior: Behavior, method: str) -> Behavior:
    """A request iterator in, one answer out: a sync handler reads the stream from its
    worker thread."""

    async def wrapper(requests: AsyncIterator[Any], context: Any) -> Any:
        call = _Call(context, method)
        try:
            if is_async(behavior):
                await call.admit()
                return await behavior(requests, call.aio_context)
            loop = asyncio.get_running_loop()
            return await in_unary_thread(_run_sync, call, behavior, sync_iterator(requests, loop))
        except BaseException as err:
            await call.fail(err)
            raise
        finally:
            call.finish()

    return wrapper


def _streaming(behavior: Behavior, method: str) -> Behavior:
    if inspect.iscoroutinefunction(behavior):  # the writer API (context.write): health's Watch

        async def writer(request: Any, context: Any) -> None:
            call = _Call(context, method)
            try:
                await call.admit()
                await behavior(request, call.aio_context)
            except BaseException as err:
                await call.fail(err)
                raise
            finally:
                call.finish()

        return writer

    async def stream(request: Any, context: Any) -> AsyncIterator[Any]:
        call = _Call(context, method)
        try:
            if inspect.isasyncgenfunction(behavior):
                await call.admit()
                items = behavior(request, call.aio_context)
            else:
                items = iterate(await in_stream_thread(_run_sync, call, behavior, request))
            async with aclosing(items):  # the handler's own clean-up runs when we stop
                async for item in items:
                    yield item
        except BaseException as err:
            await call.fail(err)
            raise
        finally:
            call.finish()

    return stream


def _run_sync(call: _Call, behavior: Behavior, request: Any) -> Any:
    """In a worker thread: the peer's admission, then the sync handler."""
    guessing.check_peer(call.peer, call.method)
    return behavior(request, call.sync_context)


class _AioContext:
    """The aio context as an async handler sees it, noting the code it aborts with."""

    def __init__(self, context: Any) -> None:
        self._context = context
        self.aborted: grpc.StatusCode | None = None

    async def abort(
        self, code: grpc.StatusCode, details: str = "", trailing_metadata: Any = ()
    ) -> None:
        self.aborted = code
        await self._context.abort(code, details, tuple(trailing_metadata or ()))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


class _Call:
    """One handler's run: its final code ("OK" unless it raised or was cancelled), its
    latency; a DojoError becomes the call's status."""

    def __init__(self, context: Any, method: str) -> None:
        self.context, self.method = context, method
        self.code, self.start, self.counted = "OK", time.monotonic(), False
        self.peer = context.peer() or ""
        self.sync_context = SyncContext(context)
        self.aio_context = _AioContext(context)

    async def admit(self) -> None:
        """The peer's failed-key limit, for handlers on the loop (health is exempt)."""
        if not guessing.exempt(self.method):
            await in_stream_thread(guessing.check_peer, self.peer, self.method)

    async def fail(self, err: BaseException) -> None:
        """Sends the status `err` stands for (raising grpc's AbortError), or notes how the
        call ended when there is nothing to send (cancelled, or already aborted)."""
        self.sync_context.active = False
        if isinstance(err, asyncio.CancelledError | GeneratorExit):
            # gRPC cancels a call at its deadline by its own clock: a few ms early by ours.
            remaining = self.context.time_remaining()
            over = remaining is not None and remaining <= DEADLINE_SLACK_S
            self.code = "DEADLINE_EXCEEDED" if over else "CANCELLED"
            return
        if isinstance(err, grpc.aio.AbortError):  # an async handler's own abort: sent
            aborted = self.aio_context.aborted
            self.code = aborted.name if aborted is not None else "UNKNOWN"
            return
        if isinstance(err, Unauthenticated):
            await in_stream_thread(guessing.failed, self.peer, self.method)
        if isinstance(err, Aborted):
            await self._send(err.code, err.details, err.trailing)
        elif isinstance(err, DojoError):
            status = to_grpc_status(err)
            await self._send(status.code, status.details, status.trailing_metadata)
        elif isinstance(err, Exception):
            code = self.sync_context.set_code_to
            if code is not None and code != grpc.StatusCode.OK:  # set_code, then raised
                await self._send(code, self.context.details() or "")
            log.exception("unhandled error in %s; answered INTERNAL", self.method, exc_info=err)
            await self._send(grpc.StatusCode.INTERNAL, INTERNAL_DETAILS)

    async def _send(self, code: grpc.StatusCode, details: str, trailing: Any = ()) -> None:
        """Ends the call with this status (raising AbortError), counted before it is sent."""
        self.code = code.name
        self.finish()
        await self.context.abort(code, details, tuple(trailing or ()))

    def finish(self) -> None:
        """Counts the call once, with its code and latency."""
        self.sync_context.active = False
        if not self.counted:
            self.counted = True
            metrics.observe(self.method, self.code, time.monotonic() - self.start)
