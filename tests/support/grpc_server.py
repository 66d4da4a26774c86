"""A gRPC server for a test: started on the port it was bound to, stopped gracefully after.

`build_server` / `build_api_server` bind port 0 and return (server, port); `serving` turns
that into the loopback address a client dials, for as long as the `with` block runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import grpc

from scheduler.server import stop_gracefully


@contextmanager
def serving(built: tuple[grpc.Server, int], grace: float = 0.5) -> Iterator[str]:
    """Starts the server, yields "127.0.0.1:PORT", then stops it with `grace` seconds."""
    server, port = built
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        stop_gracefully(server, grace)
