"""`make up`'s processes for a bench: embedded defaults (SQLite, embedded Redis), free ports,
a temporary state folder, and a client configuration holding the seeded demo key."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from devstack import Ports, Stack, env_file_value
from dojo.config import ClientConfig


@dataclass(frozen=True)
class LiveStack:
    base: Path  # the state folder (database, storage, logs)
    env: dict[str, str]  # the environment the stack's processes run with
    stack: Stack
    client_config: ClientConfig


@contextmanager
def live_stack(prefix: str, *, timeout: float = 30, **env: str) -> Iterator[LiveStack]:
    """Starts the stack with `env` over the defaults and stops it on the way out, an
    exception or SIGTERM included (benchmarks/__main__.py turns SIGTERM into one). The state
    folder is removed after a clean run and kept, with its logs, after a failed one."""
    base = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ.pop("REDIS_URL", None)  # the embedded Redis, not a shared one
    stack = Stack(
        env={
            "DATABASE_URL": f"sqlite:///{base / 'bench.sqlite3'}",
            "DOJO_DATA_DIR": str(base),
            "DOJO_DEMO_ENV_FILE": str(base / "demo.env"),
            "PROMETHEUS_MULTIPROC_DIR": str(base / "prom"),
            **env,
        },
        ports=Ports.ephemeral(),
        state_dir=base,
        log_dir=base / "logs",
        quiet_seed=True,
        prometheus=False,
    )
    started = stack.start()
    try:
        key = env_file_value(base / "demo.env", "DOJO_API_KEY") or ""
        config = ClientConfig(server=f"127.0.0.1:{stack.ports.grpc}", api_key=key, timeout=timeout)
        yield LiveStack(base=base, env=started, stack=stack, client_config=config)
    finally:
        stack.stop()
    shutil.rmtree(base, ignore_errors=True)
