"""One server interceptor around every unary, server-streaming and client-streaming handler:

* maps a raised DojoError to its gRPC status with details (errors.to_grpc_status), so
  servicers just raise;
* records request count and latency by method and final code;
* closes this worker thread's database connections after the call, as Django does at the end
  of a web request (gRPC pool threads live long, and a stale connection must not linger);
* limits failed API-key authentications per peer address (api.guessing): past the limit a
  peer gets RESOURCE_EXHAUSTED with RetryInfo on every call until its window ends.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any

import grpc
from django.db import connections

from dojocloud.api import guessing, metrics
from dojocloud.api.errors import to_grpc_status
from dojocloud.common.errors import DojoError, Unauthenticated

log = logging.getLogger(__name__)

Unary = Callable[[Any, grpc.ServicerContext], Any]
Streaming = Callable[[Any, grpc.ServicerContext], Iterator[Any]]
ClientStreaming = Callable[[Iterator[Any], grpc.ServicerContext], Any]


class HandlerInterceptor(grpc.ServerInterceptor):
    """A server interceptor that replaces each method's handler; subclasses say how."""

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Any],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        return self.wrap(handler, handler_call_details.method)

    def wrap(self, handler: Any, method: str) -> Any:
        """The handler to serve `method` ("/dojo.v1.JobService/GetJob") with."""
        raise NotImplementedError


class ApiInterceptor(HandlerInterceptor):
    def wrap(self, handler: Any, method: str) -> Any:
        return wrap_handler(
            handler,
            lambda b: _unary(b, method),
            lambda b: _streaming(b, method),
            lambda b: _unary(b, method),  # a request iterator in, one answer out
        )


def wrap_handler(
    handler: Any,
    unary: Callable[[Unary], Unary],
    streaming: Callable[[Streaming], Streaming],
    client_streaming: Callable[[ClientStreaming], ClientStreaming] | None = None,
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


def _unary(behavior: Unary, method: str) -> Unary:
    def wrapper(request: Any, context: grpc.ServicerContext) -> Any:
        with _Call(context, method):
            return behavior(request, context)

    return wrapper


def _streaming(behavior: Streaming, method: str) -> Streaming:
    def wrapper(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        with _Call(context, method) as call:
            yield from behavior(request, context)
            call.code = _ended_code(context)

    return wrapper


class _Call:
    """One handler's run: its final code ("OK" unless it raised or its stream stopped early),
    its latency and the connection clean-up; a DojoError becomes the call's status."""

    def __init__(self, context: grpc.ServicerContext, method: str) -> None:
        self.context, self.method = context, method
        self.code, self.start = "OK", time.monotonic()

    def __enter__(self) -> _Call:
        try:
            guessing.check_peer(self.context, self.method)
        except DojoError as err:
            self.__exit__(type(err), err, None)  # answers it as a handler's error would
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if isinstance(err, Unauthenticated):
                guessing.failed(self.context, self.method)
            if isinstance(err, DojoError):
                status = to_grpc_status(err)
                self.code = status.code.name
                self.context.abort_with_status(status)  # raises, unwinding the handler
            elif isinstance(err, GeneratorExit):
                self.code = "CANCELLED"  # the client went away; gRPC closed the generator
            elif isinstance(err, Exception):
                self.code = _failure_code(self.context, self.method)
                _hide_internal(self.context, self.code)
        finally:
            _finish(self.method, self.code, self.start)


def _ended_code(context: grpc.ServicerContext) -> str:
    """A stream that returned: completed, or stopped because the call ended under it."""
    if context.is_active():
        return "OK"
    remaining = context.time_remaining()
    return "DEADLINE_EXCEEDED" if remaining is not None and remaining <= 0 else "CANCELLED"


def _failure_code(context: grpc.ServicerContext, method: str) -> str:
    """The code of a handler that raised: its own context.abort(), or a bug (INTERNAL)."""
    code = context.code() if hasattr(context, "code") else None
    if isinstance(code, grpc.StatusCode) and code != grpc.StatusCode.OK:
        return code.name
    log.exception("unhandled error in %s; answered INTERNAL", method)
    return "INTERNAL"


def _hide_internal(context: grpc.ServicerContext, code: str) -> None:
    """A bug answers INTERNAL without its message (gRPC would send it, as UNKNOWN)."""
    if code == "INTERNAL":
        context.abort(grpc.StatusCode.INTERNAL, "internal error (logged on the server)")


def _finish(method: str, code: str, start: float) -> None:
    metrics.observe(method, code, time.monotonic() - start)
    connections.close_all()
