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
import gc
import threading
from collections.abc import AsyncGenerator, Awaitable, Callable, Hashable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db import close_old_connections

from scheduler.aio_compat import step

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)

_lock = threading.Lock()
_pools: dict[asyncio.AbstractEventLoop, ThreadPoolExecutor] = {}


def stream_pool() -> ThreadPoolExecutor:
    """The running server's pool for streams' blocking reads (made on first use, one per
    server's event loop, ended with it by `close_stream_pool`)."""
    loop = asyncio.get_running_loop()
    with _lock:
        pool = _pools.get(loop)
        if pool is None:
            pool = _pools[loop] = ThreadPoolExecutor(
                max_workers=int(settings.GRPC_STREAM_THREADS), thread_name_prefix="grpc-stream"
            )
        return pool


def close_stream_pool(loop: asyncio.AbstractEventLoop) -> None:
    """Ends the pool of a stopped server's loop: its threads exit, and with them their
    database connections."""
    with _lock:
        pool = _pools.pop(loop, None)
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)
    # A finished thread's Django connections sit in reference cycles: collect them now, so
    # their sockets close with the server rather than at some later collection.
    gc.collect()


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


def iterate(items: Iterator[T]) -> AsyncGenerator[T, None]:
    """The items of a blocking iterator, each `next()` in the stream pool: no thread is
    held between items."""
    return step(items, in_stream_thread)


class InFlight(Generic[K, T]):
    """Concurrent asks for the same key on one event loop share the one answer in flight
    (a burst of streams opening on one key or one job costs one query, not hundreds). An
    answer is never kept: an ask after it finished makes a new one."""

    def __init__(self) -> None:
        self._running: dict[tuple[asyncio.AbstractEventLoop, K], asyncio.Future[T]] = {}

    async def get(self, key: K, make: Callable[[], Awaitable[T]]) -> T:
        ident = (asyncio.get_running_loop(), key)
        future = self._running.get(ident)
        if future is None:
            future = self._running[ident] = asyncio.ensure_future(make())
            future.add_done_callback(functools.partial(self._done, ident))
        # shield: one asker leaving must not cancel the answer the others wait for.
        return await asyncio.shield(future)

    def _done(self, ident: tuple[asyncio.AbstractEventLoop, K], future: asyncio.Future[T]) -> None:
        if self._running.get(ident) is future:
            del self._running[ident]
        if not future.cancelled():
            future.exception()  # retrieved: no warning when every asker had left
