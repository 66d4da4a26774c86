"""Fixtures of the platform integration tests: real Redis, real Celery worker processes,
the configured test database (see platform_worker_procs)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from platform_worker_procs import Workers, database_url


@pytest.fixture
def live(transactional_db: None, redis_url: str, settings, tmp_path: Path) -> Iterator[Workers]:  # type: ignore[no-untyped-def]
    """Points this process (scheduler side) and the workers at the same Redis and data dir."""
    from dojocloud.celery import app

    settings.REDIS_URL = redis_url
    settings.STORAGE_URL = (tmp_path / "storage").as_uri()
    settings.HEARTBEAT_TIMEOUT_S = 4.0
    old_broker = app.conf.broker_url
    app.conf.broker_url = redis_url
    _reset_producer_pools(app)
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url,
        "DOJO_TORCH_THREADS": "1",
        "DOJO_DATA_DIR": str(tmp_path),
        "DOJO_STORAGE_URL": settings.STORAGE_URL,
        "DOJO_HEARTBEAT_INTERVAL_S": "0.5",
        "DOJO_HEARTBEAT_TIMEOUT_S": "4",
        "DOJO_METRIC_EVERY_STEPS": "1",
        "DJANGO_SETTINGS_MODULE": "dojocloud.settings",
        "PROMETHEUS_MULTIPROC_DIR": "",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR")
    workers = Workers(env, tmp_path)
    try:
        yield workers
    finally:
        workers.stop_all()
        app.conf.broker_url = old_broker
        _reset_producer_pools(app)


def _reset_producer_pools(app) -> None:  # type: ignore[no-untyped-def]
    """Celery caches connection pools built for the broker URL it saw first. They are not
    closed here: kombu shares them by URL, and a closed shared pool breaks later sends."""
    app._pool = None
    app.amqp._producer_pool = None
