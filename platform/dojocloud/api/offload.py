"""Blocking work of the asyncio API server, done in threads.

The API server's event loop must never wait on the database, Redis or object storage. Unary
handlers run whole in the server's own thread pool (the loop's default executor, sized by
`serve_grpc --workers`); the streams' reads (WatchJob's followers, StreamJobLogs,
DownloadArtifact) run here, in a separate pool of DOJO_GRPC_STREAM_THREADS threads, so unary
calls never queue behind them. Every offloaded call is bracketed as Django brackets a web
request: `close_old_connections` before and after, so a thread keeps its database
connection for CONN_MAX_AGE (health-checked before reuse) and drops a broken or old one.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from django.conf import settings
from django.db import close_old_connections

T = TypeVar("T")

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_END = object()


def stream_pool() -> ThreadPoolExecutor:
    """The process's pool for streams' blocking reads (created on first use)."""
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=int(settings.GRPC_STREAM_THREADS), thread_name_prefix="grpc-stream"
            )
        return _pool


def with_db(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` as one database "request" of this thread (see the module's doc)."""
    close_old_connections()
    try:
        return fn(*args)
    finally:
        close_old_connections()


async def in_stream_thread(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` in the stream pool, awaited."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(stream_pool(), functools.partial(with_db, fn, *args))


async def in_unary_thread(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` in the server's own pool (the loop's default executor), awaited."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, functools.partial(with_db, fn, *args))


async def iterate(items: Iterator[T], *, unary: bool = False) -> AsyncGenerator[T, None]:
    """The items of a blocking iterator, each `next()` in a thread (the stream pool, or
    with `unary` the server's): no thread is held between items. Closed when abandoned."""
    run = in_unary_thread if unary else in_stream_thread
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


def sync_iterator(items: AsyncIterator[T], loop: asyncio.AbstractEventLoop) -> Iterator[T]:
    """An async iterator of the loop read from a worker thread, one item at a time (a
    client-streaming request handed to a sync handler)."""

    async def step() -> Any:
        try:
            return await items.__anext__()
        except StopAsyncIteration:
            return _END

    while True:
        item = asyncio.run_coroutine_threadsafe(step(), loop).result()
        if item is _END:
            return
        yield item
