"""philly_replay: the whole Philly trace (82,247 jobs; sizes above 8 GPUs capped at 8, jobs
sorted by submit time) replayed on deploy/clusters/philly.yaml (64 nodes x 8 V100) under
strict FIFO and under the full policy, in the same run.

Prints the full policy's wall seconds (target <= 60), average JCT (target <= 20,900 s: a
Gavel LAS run with 360 s rounds reached that in 563 s of wall time), its ratio to strict
FIFO's average JCT (target <= 0.5), and utilization. A replay that runs past its wall budget
(BENCH_SIM_BUDGET_S, default 240 s) stops and is reported as such, with how far it got.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from benchmarks.report import bench
from scheduler.inventory import load_inventory
from scheduler.simulate.metrics import finished, jct, makespan, utilization
from scheduler.simulate.replay import Replay, ReplayOptions
from scheduler.simulate.state import ReplayResult
from scheduler.simulate.trace import default_philly_path, read_philly

PHILLY_CLUSTER = Path(__file__).resolve().parent.parent / "deploy" / "clusters" / "philly.yaml"
GAVEL_LAS_AVG_JCT_S = 20_900.0
GAVEL_LAS_WALL_S = 563.0


class OverBudget(Exception):
    pass


def _replay(policy: str, budget_s: float) -> tuple[ReplayResult | None, str]:
    jobs = read_philly(default_philly_path(), cap_count=8)
    replay = Replay(jobs, load_inventory(PHILLY_CLUSTER), ReplayOptions(policy=policy))
    started = time.perf_counter()
    done = 0

    def on_finish(n: int) -> None:
        nonlocal done
        before, done = done, done + n
        if done // 500 != before // 500 and time.perf_counter() - started > budget_s:
            raise OverBudget(f"{done} of {len(jobs)} jobs finished after {budget_s:.0f} s")

    try:
        return replay.run(), ""
    except OverBudget as exc:
        return None, str(exc)


def _avg_jct(r: ReplayResult) -> float:
    done = finished(r.jobs)
    return sum(jct(j) for j in done) / max(len(done), 1)


def main() -> None:
    budget = float(os.environ.get("BENCH_SIM_BUDGET_S", "240"))
    fifo, fifo_why = _replay("fifo", budget)
    full, full_why = _replay("default", budget)
    if full is None or fifo is None:
        bench(
            "philly_replay",
            float("nan"),
            "s",
            error=f"over budget: fifo {fifo_why or 'ok'}; default {full_why or 'ok'}",
            fifo_wall_s=fifo.wall_s if fifo else None,
        )
        return
    fifo_jct, full_jct = _avg_jct(fifo), _avg_jct(full)
    start, end = makespan(full.jobs)
    bench(
        "philly_replay_wall",
        full.wall_s,
        "s",
        baseline=GAVEL_LAS_WALL_S,
        target=60.0,
        jobs=len(full.jobs),
        passes=full.passes,
    )
    bench(
        "philly_replay_avg_jct",
        full_jct,
        "s",
        baseline=GAVEL_LAS_AVG_JCT_S,
        target=GAVEL_LAS_AVG_JCT_S,
        unfinished=full.unfinished,
        preemptions=full.preemptions,
    )
    bench(
        "philly_replay_jct_vs_fifo",
        full_jct / fifo_jct,
        "ratio",
        baseline=fifo_jct,
        ratio=full_jct / fifo_jct,
        target=0.5,
        fifo_avg_jct_s=fifo_jct,
        fifo_wall_s=fifo.wall_s,
    )
    bench(
        "philly_replay_utilization",
        utilization(full.timeline, start, end),
        "fraction",
        makespan_s=end - start,
    )


if __name__ == "__main__":
    main()
