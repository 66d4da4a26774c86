"""A gRPC server for a test: started on the port it was bound to, stopped gracefully after.

`build_server` / `build_api_server` bind port 0 and return (server, port); `serving` turns
that into the loopback address a client dials, for as long as the `with` block runs;
`serving_fake` does both for a test's fake servicer. `start_serve_grpc` runs `manage.py
serve_grpc` as a real process on a SQLite database of its own.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc

from devstack import REPO
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


def start_serve_grpc(tmp_path: Path, grace: float, **env: str) -> subprocess.Popen[str]:
    """`manage.py serve_grpc` on a free loopback port, no scheduler loop, its data and
    database under `tmp_path` (unless `env` names a DATABASE_URL), stdout and stderr in one
    text pipe. The metrics variables of this environment are dropped (no /metrics server
    unless `env` names a port)."""
    full = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PROMETHEUS_MULTIPROC_DIR", "DOJO_GRPC_METRICS_PORT")
    }
    full.update(
        DOJO_DATA_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        PYTHONUNBUFFERED="1",
    )
    full.update(env)
    serve = [sys.executable, "manage.py", "serve_grpc", "--addr", "127.0.0.1:0"]
    return subprocess.Popen(
        [*serve, "--no-scheduler", "--grace", str(grace)],
        cwd=REPO,
        env=full,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def serving_address(proc: subprocess.Popen[str], then: str = "") -> str:
    """Waits for serve_grpc's first line ("... (port N)" and then `then`) and returns the
    address it serves on; fails with everything the process wrote if the line is not so."""
    assert proc.stdout is not None
    line = proc.stdout.readline()  # blocks until the server is up (or the process died)
    match = re.search(r"\(port (\d+)\)" + re.escape(then), line)
    assert match, line + proc.stdout.read()
    return f"127.0.0.1:{match[1]}"
