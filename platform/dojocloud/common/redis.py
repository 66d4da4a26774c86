"""One Redis client per URL. Redis is transient here: callers treat its errors as a delay,
never a loss (the database is the truth)."""

from __future__ import annotations

import threading

import redis
from django.conf import settings

_clients: dict[str, redis.Redis] = {}
_lock = threading.Lock()


def redis_client() -> redis.Redis:
    url = str(settings.REDIS_URL)
    with _lock:
        client = _clients.get(url)
        if client is None:
            client = redis.Redis.from_url(
                url, socket_timeout=5, socket_connect_timeout=2, health_check_interval=30
            )
            _clients[url] = client
        return client
