"""gRPC server factory: one place that binds, registers health and reflection, and stops
with a grace period. No Django here; the caller passes in its servicers and interceptors.

The server is `grpc.aio`: it runs on an event loop of its own, in a thread of its own, so a
server-streaming call costs a coroutine, not a thread. `AsyncServer` is the synchronous
handle the rest of the code (commands, tests) drives it with. Handlers written as coroutines
or async generators run on the loop; plain (sync) handlers run in the server's bounded
thread pool, `max_workers` threads, which is also the loop's default executor.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, Sequence
from concurrent import futures
from typing import Any, TypeVar, cast

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from scheduler.aio_compat import SyncHandlers

log = logging.getLogger(__name__)

DEFAULT_GRACE_S = 10.0
# Calls in progress at once (streams included) before new ones get RESOURCE_EXHAUSTED: a
# bound on memory, far above the thousands of watch streams one process serves.
DEFAULT_MAX_CONCURRENT_RPCS = 20_000

T = TypeVar("T")


class BindError(RuntimeError):
    pass


class AsyncServer:
    """A grpc.aio server on its own event loop thread, driven from synchronous code: the
    calls a `grpc.Server` offers (ports, handlers, start, stop) run on the loop."""

    def __init__(
        self,
        thread_pool: futures.ThreadPoolExecutor,
        interceptors: Sequence[grpc.aio.ServerInterceptor],
        options: list[tuple[str, Any]],
        maximum_concurrent_rpcs: int | None,
    ) -> None:
        self.thread_pool = thread_pool
        self.loop = asyncio.new_event_loop()
        self.loop.set_default_executor(thread_pool)  # run_in_executor(None, ...) uses it
        self._thread = threading.Thread(target=self._run_loop, name="grpc-aio", daemon=True)
        self._thread.start()
        self.health: Any = None  # the aio HealthServicer, once build_server adds it
        self.on_stop: list[Callable[[], None]] = []  # run once the server and loop are done
        self._stopped: threading.Event | None = None
        self.aio_server: grpc.aio.Server = self.call(
            lambda: grpc.aio.server(
                migration_thread_pool=thread_pool,
                interceptors=list(interceptors),
                options=options,
                maximum_concurrent_rpcs=maximum_concurrent_rpcs,
            )
        )

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call(self, fn: Callable[[], T]) -> T:
        """`fn()` run on the loop's thread (grpc.aio objects belong to their loop)."""

        async def go() -> T:
            return fn()

        return self.run(go())

    def run(self, coro: Awaitable[T]) -> T:
        """Runs a coroutine on the server's loop and waits for its result."""
        done: T = asyncio.run_coroutine_threadsafe(cast(Any, coro), self.loop).result()
        return done

    def add_insecure_port(self, address: str) -> int:
        return int(self.call(lambda: self.aio_server.add_insecure_port(address)))

    def add_secure_port(self, address: str, credentials: grpc.ServerCredentials) -> int:
        return int(self.call(lambda: self.aio_server.add_secure_port(address, credentials)))

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        self.call(lambda: self.aio_server.add_generic_rpc_handlers(handlers))

    def add_registered_method_handlers(
        self, service_name: str, handlers: dict[str, grpc.RpcMethodHandler]
    ) -> None:
        self.call(lambda: self.aio_server.add_registered_method_handlers(service_name, handlers))

    def start(self) -> None:
        self.run(self.aio_server.start())

    def stop(self, grace: float | None) -> threading.Event:
        """Stops taking calls, lets in-flight ones finish for `grace` seconds, cancels the
        rest, ends the loop; returns an event set once all that is done (as grpc.Server)."""
        if self._stopped is not None:
            return self._stopped
        self._stopped = done = threading.Event()
        if self.loop.is_closed() or not self._thread.is_alive():
            done.set()
            return done
        stopping = asyncio.run_coroutine_threadsafe(self._stop(grace), self.loop)
        # The callback runs on the loop's thread, which _finish waits for: hand it over.
        stopping.add_done_callback(
            lambda _: threading.Thread(target=self._finish, args=(done,), daemon=True).start()
        )
        return done

    async def _stop(self, grace: float | None) -> None:
        if self.health is not None:
            await self.health.enter_graceful_shutdown()
        # Calls still running after the grace are cancelled; a stream's shared follower
        # ends with its last watcher.
        await self.aio_server.stop(grace)

    def _finish(self, done: threading.Event) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5.0)
        # Idle threads exit now (and their thread-local resources with them); a handler
        # stuck past the grace keeps its thread without holding up the stop.
        self.thread_pool.shutdown(wait=False, cancel_futures=True)
        for hook in self.on_stop:
            try:
                hook()
            except Exception:  # one failed clean-up must not keep the others from running
                log.exception("a gRPC server's stop hook failed")
        done.set()


def build_server(
    add_servicers: Callable[[Any], None],
    address: str,
    *,
    max_workers: int = 16,
    interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
    credentials: grpc.ServerCredentials | None = None,
    max_receive_bytes: int | None = None,
    maximum_concurrent_rpcs: int | None = DEFAULT_MAX_CONCURRENT_RPCS,
) -> tuple[AsyncServer, int]:
    """Builds (not starts) a server on `address`; returns it with the bound port.

    `address` is host:port; port 0 picks a free port (tests). Every service that
    `add_servicers` registers is reported SERVING by the health service (also overall, "")
    and listed by reflection. With `credentials` the port serves TLS only, else plain text.
    `max_receive_bytes` replaces the transport's 4 MiB limit on a request message. Sync
    handlers run in a pool of `max_workers` threads; async ones on the server's loop.
    """
    options = (
        []
        if max_receive_bytes is None
        else [("grpc.max_receive_message_length", max_receive_bytes)]
    )
    pool = futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="grpc")
    # SyncHandlers outermost: it serves whatever handler the others left sync.
    chain = [SyncHandlers(), *interceptors]
    server = AsyncServer(pool, chain, options, maximum_concurrent_rpcs)
    try:
        port = _assemble(server, add_servicers, address, credentials)
    except BaseException:
        server.stop(0).wait(5.0)
        raise
    return server, port


def _assemble(
    server: AsyncServer,
    add_servicers: Callable[[Any], None],
    address: str,
    credentials: grpc.ServerCredentials | None,
) -> int:
    recorder = _RecordingServer(server)
    # Duck-types a grpc.Server: it forwards every call, noting the services' names.
    add_servicers(recorder)
    names = recorder.names
    health_servicer = server.call(health.aio.HealthServicer)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, cast(Any, server))
    for name in ["", *names]:
        server.run(health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING))
    server.health = health_servicer  # so stop() can report NOT_SERVING first
    server.call(
        lambda: reflection.enable_server_reflection(
            [*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server.aio_server
        )
    )
    how = "" if credentials is None else " (TLS)"
    try:
        port = (
            server.add_insecure_port(address)
            if credentials is None
            else server.add_secure_port(address, credentials)
        )
    except RuntimeError as exc:  # newer grpc raises; older returned 0
        raise BindError(f"cannot bind gRPC server{how} to {address}: {exc}") from None
    if port == 0:
        raise BindError(f"cannot bind gRPC server{how} to {address}")
    return port


def stop_gracefully(server: AsyncServer, grace_s: float = DEFAULT_GRACE_S) -> None:
    """Marks every service NOT_SERVING, lets in-flight calls finish for `grace_s`, stops."""
    server.stop(grace_s).wait(grace_s + 5.0)


class _RecordingServer:
    """Forwards to the real server and notes the names of the services added to it."""

    def __init__(self, server: AsyncServer) -> None:
        self._target = server
        self.names: list[str] = []

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        for handler in handlers:
            name = getattr(handler, "service_name", None)
            self._note(name() if callable(name) else name)
        self._target.add_generic_rpc_handlers(handlers)

    def add_registered_method_handlers(
        self, service_name: str, handlers: dict[str, grpc.RpcMethodHandler]
    ) -> None:
        self._note(service_name)
        self._target.add_registered_method_handlers(service_name, handlers)

    def _note(self, name: object) -> None:
        if isinstance(name, str) and name not in self.names:
            self.names.append(name)

    def __getattr__(self, attr: str) -> object:
        return getattr(self._target, attr)
