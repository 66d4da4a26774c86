"""dojocloud.common.ratelimit without a reachable Redis: the limits fail open."""

from __future__ import annotations

from dojocloud.common import ratelimit


def test_an_unreachable_redis_lets_calls_through(settings) -> None:  # type: ignore[no-untyped-def]
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    window = ratelimit.Window(limit=1, seconds=60)
    assert ratelimit.hit("test", "x", window) is None
    assert ratelimit.retry_after("test", "x", window) is None


def test_a_zero_limit_is_off() -> None:
    off = ratelimit.Window(limit=0, seconds=60)
    assert not off.enabled
    assert ratelimit.hit("test", "x", off) is None
    assert ratelimit.Hit(count=3, window_left_s=1.0).over(ratelimit.Window(2, 60))
    assert not ratelimit.Hit(count=2, window_left_s=1.0).over(ratelimit.Window(2, 60))
