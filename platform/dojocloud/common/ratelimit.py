"""Fixed-window counters in Redis: limits that hold across every API and web process.

A window opens at a key's first event and lasts `seconds`; once `limit` events are counted in
it, the key is over its limit until the window ends. State lives in Redis, not in-process,
because several API processes may serve one address (and a restart must not reset a
guesser's count). Redis is transient here: when it is unreachable the limits fail open (the
call goes ahead, a warning is logged at most once a minute), so an outage of Redis never
stops valid callers.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass

import redis

from dojocloud.common.redis import redis_client

PREFIX = "dojo:limit:"
_WARN_EVERY_S = 60.0

log = logging.getLogger(__name__)
_warned = {"at": -math.inf}
_warn_lock = threading.Lock()


@dataclass(frozen=True)
class Window:
    """At most `limit` events per `seconds`; a limit of 0 turns the counter off."""

    limit: int
    seconds: float

    @property
    def enabled(self) -> bool:
        return self.limit > 0 and self.seconds > 0


def _key(name: str, subject: str) -> str:
    return f"{PREFIX}{name}:{subject}"


def retry_after(name: str, subject: str, window: Window) -> float | None:
    """Seconds until `subject`'s window ends when it is at its limit; None while under it."""
    if not window.enabled:
        return None
    key = _key(name, subject)
    try:
        count = redis_client().get(key)  # one round trip on the common path: under the limit
        if count is None or int(count) < window.limit:
            return None
        ttl_ms = int(redis_client().pttl(key))
    except redis.RedisError as exc:
        _warn(name, exc)
        return None
    # Negative: the window ended between the two reads (or, never written so, has no end).
    return ttl_ms / 1000.0 if ttl_ms > 0 else None


@dataclass(frozen=True)
class Hit:
    """One counted event: the count in its window so far and the seconds the window has left."""

    count: int
    window_left_s: float

    def over(self, window: Window) -> bool:
        """True when this event is past the window's limit (refuse it)."""
        return self.count > window.limit


def hit(name: str, subject: str, window: Window) -> Hit | None:
    """Counts one event of `subject`; None when the window is off or Redis is unreachable."""
    if not window.enabled:
        return None
    key = _key(name, subject)
    try:
        pipe = redis_client().pipeline(transaction=True)  # MULTI: the expiry is never lost
        pipe.set(key, 0, px=max(1, int(window.seconds * 1000)), nx=True)
        pipe.incr(key)
        pipe.pttl(key)
        _, count, ttl_ms = pipe.execute()
    except redis.RedisError as exc:
        _warn(name, exc)
        return None
    return Hit(int(count), max(ttl_ms, 1) / 1000.0)


def reset(name: str, subject: str) -> None:
    """Forgets `subject`'s count (an operator lifting a limit, tests)."""
    try:
        redis_client().delete(_key(name, subject))
    except redis.RedisError as exc:
        _warn(name, exc)


def _warn(name: str, exc: Exception) -> None:
    now = time.monotonic()
    with _warn_lock:
        if now - _warned["at"] < _WARN_EVERY_S:
            return
        _warned["at"] = now
    log.warning("rate limit %s not enforced: Redis unreachable (%s)", name, exc)
