"""live_pass_latency: one pass of the live scheduling loop (scheduling.runner's loop over the
database store: recovery, the database snapshot, the core's decisions, the persisted reasons
and positions) with 10,000 pending jobs of 20 tenants.

The dev inventory (deploy/clusters/dev.yaml) is full: one running job per tile and per GPU
node, started just now with a fresh heartbeat (so the minimum run protects them and no pass
admits, preempts or re-dispatches anything). Every pending job waits, so every pass writes
a reason and a position for each one on the first pass, and only the changed ones after:
between passes 20 jobs are cancelled and 20 arrive, which moves positions.

On PostgreSQL when DATABASE_URL names one (a fresh database dojo_bench_sched_<pid> on that
server, dropped after), else a temporary SQLite file. Prints p50/p99 over PASSES passes,
the first included, and the queries of the first and of a later pass.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.report import bench

PENDING = 10_000
PASSES = 10
CHURN = 20  # jobs cancelled and submitted between passes
TENANTS = 20


@contextmanager
def _database(base: Path) -> Iterator[str]:
    """The DATABASE_URL the bench runs on: a fresh PostgreSQL database when DATABASE_URL
    names a PostgreSQL server, else a temporary SQLite file."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        yield f"sqlite:///{base / 'live_pass.sqlite3'}"
        return
    import psycopg

    server = url.rsplit("/", 1)[0]
    name = f"dojo_bench_sched_{os.getpid()}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _passes() -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from dojocloud.scheduling.runner import build_loop, freeze_startup_heap
    from tests.support.pending_queue import full_cluster

    queue = full_cluster(TENANTS)
    queue.submit(PENDING)
    freeze_startup_heap()  # as the API server does before it starts the loop
    loop = build_loop()
    seconds, queries, pending = [], [], []
    for _ in range(PASSES):
        connection.queries_log.clear()  # the log keeps 9,000 queries: count from empty
        with CaptureQueriesContext(connection) as captured:
            t0 = time.perf_counter()
            result = loop.run_once()
            seconds.append(time.perf_counter() - t0)
        assert result.leader and not result.admitted and not result.preempted, result
        queries.append(len(captured))
        pending.append(result.pending)
        queue.cancel_some(CHURN)
        queue.submit(CHURN)
    loop.leader.release()
    return {"seconds": seconds, "queries": queries, "pending": pending}


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="dojo-bench-live-pass-"))
    with _database(base) as url:
        os.environ["DATABASE_URL"] = url
        os.environ["DOJO_DATA_DIR"] = str(base)
        os.environ["DOJO_HEARTBEAT_TIMEOUT_S"] = "3600"
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dojocloud.settings")
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        out = _passes()
        vendor = connection.vendor
    ms = [s * 1000 for s in out["seconds"]]
    bench(
        "live_pass_latency",
        _p99(ms),
        "ms",
        baseline=1000.0,
        p50_ms=round(statistics.median(ms), 1),
        first_pass_ms=round(ms[0], 1),
        passes_ms=[round(v, 1) for v in ms],
        queries_first_pass=out["queries"][0],
        queries_later_pass=out["queries"][-1],
        pending=out["pending"][0],
        database=vendor,
    )


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
