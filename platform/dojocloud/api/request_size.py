"""Requests larger than DOJO_GRPC_MAX_MESSAGE_BYTES get INVALID_ARGUMENT naming the limit, and
requests whose text carries a NUL character get INVALID_ARGUMENT naming the field
(`request_text`).

The transport's own receive limit answers RESOURCE_EXHAUSTED ("Received message larger than
max"), a code that tells a client to retry later, and no servicer ever sees the request. So
the server's transport limit is set above this one (RECEIVE_HEADROOM times), and this
interceptor replaces each method's request deserializer: a message over the limit is never
parsed, and the handler answers with a field violation naming the limit. It sits inside
`ApiInterceptor`, which turns the raised InvalidArgument into the status (and counts it).
Each wrapper keeps its handler's kind (sync, coroutine, async generator), which decides
where ApiInterceptor runs it.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message

from dojocloud.api.interceptors import HandlerInterceptor, wrap_handler
from dojocloud.api.request_text import nul_violations
from dojocloud.common.errors import FieldViolation, InvalidArgument
from scheduler.aio_compat import Behavior, is_async

RECEIVE_HEADROOM = 8  # transport limit = this x the checked limit


@dataclass(frozen=True)
class _Oversized:
    """What the deserializer hands over instead of a request past the limit."""

    size: int


class RequestSizeLimit(HandlerInterceptor):
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes

    def wrap(self, handler: Any, method: str) -> Any:
        if handler.request_deserializer is None:
            return handler
        limit = self.max_bytes
        return wrap_handler(
            handler,
            lambda b: _unary(b, limit),
            lambda b: _streaming(b, limit),
            lambda b: _client_streaming(b, limit),
            request_deserializer=_bounded(handler.request_deserializer, limit),
        )  # bidi-streaming (reflection) keeps the transport's limit


def _bounded(parse: Callable[[bytes], Any], max_bytes: int) -> Callable[[bytes], Any]:
    def deserialize(data: bytes) -> Any:
        return _Oversized(len(data)) if len(data) > max_bytes else parse(data)

    return deserialize


def _check(request: Any, max_bytes: int) -> None:
    if isinstance(request, Message):
        violations = nul_violations(request)
        if violations:
            raise InvalidArgument(violations)
    if isinstance(request, _Oversized):
        raise InvalidArgument(
            [
                FieldViolation(
                    "request",
                    f"is {request.size} bytes; this server takes requests of at most "
                    f"{max_bytes} bytes",
                )
            ]
        )


def _unary(behavior: Behavior, max_bytes: int) -> Behavior:
    if is_async(behavior):

        async def checked(request: Any, context: Any) -> Any:
            _check(request, max_bytes)
            return await behavior(request, context)

        return checked

    def wrapper(request: Any, context: Any) -> Any:
        _check(request, max_bytes)
        return behavior(request, context)

    return wrapper


def _streaming(behavior: Behavior, max_bytes: int) -> Behavior:
    if inspect.iscoroutinefunction(behavior):  # the writer API
        return _unary(behavior, max_bytes)
    if inspect.isasyncgenfunction(behavior):

        async def stream(request: Any, context: Any) -> AsyncIterator[Any]:
            _check(request, max_bytes)
            async with aclosing(behavior(request, context)) as items:
                async for item in items:
                    yield item

        return stream

    def wrapper(request: Any, context: Any) -> Iterator[Any]:
        _check(request, max_bytes)
        yield from behavior(request, context)

    return wrapper


def _client_streaming(behavior: Behavior, max_bytes: int) -> Behavior:
    """Each message of the stream is checked as it is read (an upload's chunks)."""
    if is_async(behavior):

        async def each(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
            async for request in requests:
                _check(request, max_bytes)
                yield request

        async def reading(requests: AsyncIterator[Any], context: Any) -> Any:
            return await behavior(each(requests), context)

        return reading

    def checked(requests: Iterator[Any]) -> Iterator[Any]:
        for request in requests:
            _check(request, max_bytes)
            yield request

    def wrapper(requests: Iterator[Any], context: Any) -> Any:
        return behavior(checked(requests), context)

    return wrapper
