"""`make up` runs Celery beat (so invoices finalize and lost webhook retries are re-sent) and
a worker for the platform's own queues: their ports are checked with the others, beat's
schedule file lives in the state dir, and a real beat process, supervised like every child,
starts against a real Redis, writes its schedule there and is restarted when killed."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import devstack
from devstack import (
    SERVICE_QUEUES,
    PortBusy,
    Ports,
    Stack,
    Supervisor,
    beat_argv,
    beat_schedule_file,
    free_port,
    pools_of,
    queues_of,
    worker_argv,
    worker_names,
)


def test_the_services_worker_takes_the_platforms_own_queues() -> None:
    pools = pools_of(devstack.REPO / "deploy/clusters/dev.yaml")
    assert worker_names(pools) == [*pools, "services"]
    assert queues_of("services") == "billing,webhooks,housekeeping" == ",".join(SERVICE_QUEUES)
    assert queues_of("dojo") == "dojo"
    argv = worker_argv(queues_of("services"), "services@h")
    assert argv[argv.index("-Q") + 1] == "billing,webhooks,housekeeping"
    # Every queue a beat entry or a task sends to has a consumer in make up, and every task
    # beat sends is one the workers have registered (a typo would be lost in silence).
    from django.conf import settings

    from dojocloud.celery import app

    app.loader.import_default_modules()
    sent_to = {e["options"]["queue"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    assert sent_to <= set(SERVICE_QUEUES)
    tasks = {e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "dojocloud.jobs.tasks.prune_logs" in tasks
    assert tasks <= set(app.tasks), tasks - set(app.tasks)


def test_the_services_workers_metrics_port_is_checked_too(tmp_path: Path) -> None:
    pools = pools_of(devstack.REPO / "deploy/clusters/dev.yaml")
    ports = Ports(free_port(), free_port(), free_port(), 0, free_port())
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = int(busy.getsockname()[1])
        while not all(_free(p) for p in range(port - len(pools), port)):
            busy.close()  # another process holds a port the pools' workers need: move on
            busy = socket.socket()
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = int(busy.getsockname()[1])
        ports.worker_metrics_base = port - len(pools)  # the one after the pools' workers
        stack = Stack(ports=ports, state_dir=tmp_path)
        with pytest.raises(PortBusy) as err:
            stack.check_ports()
        busy.close()
    assert err.value.port == port and err.value.what == "worker-services's /metrics"


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_beats_schedule_file_is_in_the_state_dir(tmp_path: Path) -> None:
    argv = beat_argv(beat_schedule_file(tmp_path))
    assert argv[-2:] == ["--schedule", str(tmp_path / "celerybeat-schedule")]
    assert argv[argv.index("-A") + 1 : argv.index("-A") + 3] == ["dojocloud", "beat"]


@pytest.fixture
def beat_stack(tmp_path: Path, redis_url: str) -> Iterator[Stack]:
    stack = Stack(state_dir=tmp_path, log_dir=tmp_path / "log")
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "dojocloud.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom"),
        "PYTHONUNBUFFERED": "1",
    }
    stack._spawn("beat", beat_argv(beat_schedule_file(tmp_path)), env)
    try:
        yield stack
    finally:
        stack.stop(grace=10)


def _schedule_written(state: Path, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(state.glob("celerybeat-schedule*")):
            return True
        time.sleep(0.2)
    return False


@pytest.mark.timeout(180)
def test_a_real_beat_starts_writes_its_schedule_and_is_restarted(
    beat_stack: Stack, tmp_path: Path
) -> None:
    log = tmp_path / "log" / "beat.log"
    assert _schedule_written(tmp_path, 90), log.read_text()
    deadline = time.monotonic() + 30
    while "beat: Starting" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "beat: Starting" in log.read_text()
    said: list[str] = []
    sup = Supervisor(beat_stack, say=said.append, backoff_s=0)
    first = beat_stack.procs["beat"]
    first.kill()
    first.wait(timeout=10)
    sup.check()
    sup.check()
    assert "beat was killed by SIGKILL; restarting it in 0 s" in said[0]
    assert beat_stack.procs["beat"].poll() is None and beat_stack.procs["beat"] is not first
