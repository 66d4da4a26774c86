"""Waking the scheduling loop from any process: a Redis list the leader blocks on, plus an
in-process Event for callers in the scheduler's own process (and when Redis is down)."""

from __future__ import annotations

import contextlib
import logging
import threading
import time

import redis

from dojocloud.common.redis import redis_client

log = logging.getLogger(__name__)
WAKE_KEY = "dojo:scheduler:wake"
_local = threading.Event()


def wake() -> None:
    """Ask for a scheduling pass soon. Safe to call from any process; never raises."""
    _local.set()
    try:
        client = redis_client()
        pipe = client.pipeline()
        pipe.lpush(WAKE_KEY, "1")
        pipe.ltrim(WAKE_KEY, 0, 0)  # one pending wake-up is as good as many
        pipe.execute()
    except redis.RedisError as exc:
        log.debug("wake via Redis failed (%s); the periodic pass will run", exc)


class RedisWakeSignal:
    """scheduler.loop.WakeSignal over the Redis list and the local Event."""

    def __init__(self, slice_s: float = 1.0) -> None:
        self.slice_s = slice_s

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            if _local.is_set():
                _local.clear()
                self._drain()
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if self._blpop(min(remaining, self.slice_s)):
                _local.clear()
                return True

    def _blpop(self, timeout: float) -> bool:
        try:
            return redis_client().blpop([WAKE_KEY], timeout=max(timeout, 0.01)) is not None
        except redis.RedisError:
            _local.wait(timeout)
            return False

    def _drain(self) -> None:
        with contextlib.suppress(redis.RedisError):
            redis_client().delete(WAKE_KEY)
