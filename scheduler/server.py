"""gRPC server factory: one place that binds, registers health and reflection, and stops
with a grace period. No Django here; the caller passes in its servicers and interceptors.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Sequence
from concurrent import futures
from typing import cast

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

log = logging.getLogger(__name__)

DEFAULT_GRACE_S = 10.0

_health_of: weakref.WeakKeyDictionary[grpc.Server, health.HealthServicer] = (
    weakref.WeakKeyDictionary()
)


class BindError(RuntimeError):
    pass


def build_server(
    add_servicers: Callable[[grpc.Server], None],
    address: str,
    *,
    max_workers: int = 16,
    interceptors: Sequence[grpc.ServerInterceptor] = (),
    credentials: grpc.ServerCredentials | None = None,
    max_receive_bytes: int | None = None,
) -> tuple[grpc.Server, int]:
    """Builds (not starts) a server on `address`; returns it with the bound port.

    `address` is host:port; port 0 picks a free port (tests). Every service that
    `add_servicers` registers is reported SERVING by the health service (also overall, "")
    and listed by reflection. With `credentials` the port serves TLS only, else plain text.
    `max_receive_bytes` replaces the transport's 4 MiB limit on a request message.
    """
    options = (
        []
        if max_receive_bytes is None
        else [("grpc.max_receive_message_length", max_receive_bytes)]
    )
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="grpc"),
        interceptors=list(interceptors),
        # Bounds the queue of calls waiting for a worker; beyond it, RESOURCE_EXHAUSTED.
        maximum_concurrent_rpcs=max_workers * 4,
        options=options,
    )
    recorder = _RecordingServer(server)
    # Duck-types a grpc.Server: it forwards every call, noting the services' names.
    add_servicers(cast(grpc.Server, recorder))
    names = recorder.names
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in ["", *names]:
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection(
        [*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server
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
    _health_of[server] = health_servicer  # so stop_gracefully can report NOT_SERVING
    return server, port


def stop_gracefully(server: grpc.Server, grace_s: float = DEFAULT_GRACE_S) -> None:
    """Marks every service NOT_SERVING, lets in-flight calls finish for `grace_s`, stops."""
    health_servicer = _health_of.pop(server, None)
    if health_servicer is not None:
        health_servicer.enter_graceful_shutdown()
    done: threading.Event = server.stop(grace_s)
    done.wait(grace_s + 1.0)


class _RecordingServer:
    """Forwards to the real server and notes the names of the services added to it."""

    def __init__(self, server: grpc.Server) -> None:
        self._server = server
        self.names: list[str] = []

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        for handler in handlers:
            name = getattr(handler, "service_name", None)
            self._note(name() if callable(name) else name)
        self._server.add_generic_rpc_handlers(handlers)

    def add_registered_method_handlers(
        self, service_name: str, handlers: dict[str, grpc.RpcMethodHandler]
    ) -> None:
        self._note(service_name)
        self._server.add_registered_method_handlers(service_name, handlers)

    def _note(self, name: object) -> None:
        if isinstance(name, str) and name not in self.names:
            self.names.append(name)

    def __getattr__(self, attr: str) -> object:
        return getattr(self._server, attr)
