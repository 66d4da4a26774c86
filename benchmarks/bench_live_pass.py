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

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.databases import bench_database, setup_django
from benchmarks.report import bench

PENDING = 10_000
PASSES = 10
CHURN = 20  # jobs cancelled and submitted between passes
TENANTS = 20


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
    with bench_database(base, "dojo_bench_sched") as url:
        setup_django(url, base, DOJO_HEARTBEAT_TIMEOUT_S="3600")
        from django.db import connection

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
