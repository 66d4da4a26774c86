"""A gRPC server for a test: started on the port it was bound to, stopped gracefully after.

`build_server` / `build_api_server` bind port 0 and return (server, port); `serving` turns
that into the loopback address a client dials, for as long as the `with` block runs;
`serving_fake` does both for a test's fake servicer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import grpc

from scheduler.server import build_server, stop_gracefully


@contextmanager
def serving(built: tuple[grpc.Server, int], grace: float = 0.5) -> Iterator[str]:
    """Starts the server, yields "127.0.0.1:PORT", then stops it with `grace` seconds."""
    server, port = built
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        stop_gracefully(server, grace)


@contextmanager
def serving_fake(add: Callable[[Any, grpc.Server], None], servicer: object) -> Iterator[str]:
    """A plain (no interceptors) server on a free loopback port serving the fake `servicer`,
    registered by `add` (a generated add_*Servicer_to_server)."""
    built = build_server(lambda server: add(servicer, server), "127.0.0.1:0", max_workers=4)
    with serving(built) as address:
        yield address
