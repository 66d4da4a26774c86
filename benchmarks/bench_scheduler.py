"""sched_pass_latency: one `schedule(snapshot)` pass with 10,000 pending jobs over
deploy/clusters/exapod.yaml plus 1,000 extra GPU nodes (pool gpu-v100), about 70% busy.
Prints p50 and p99 milliseconds over repeated passes (seeded, so runs compare)."""

from __future__ import annotations

import json
import random
import statistics
import time
from dataclasses import replace
from pathlib import Path

from scheduler.core import GpuNode, JobRequest, Snapshot, schedule
from scheduler.core.incremental import Scheduler
from scheduler.inventory import load_inventory

EXAPOD = Path(__file__).resolve().parent.parent / "deploy" / "clusters" / "exapod.yaml"
PENDING = 10_000
PASSES = 30
TENANTS = [f"org{i}" for i in range(20)]
ACCELS = ["dojo-tile", "gpu-a100", "gpu-h100", "gpu-v100"]


def _snapshot(rng: random.Random) -> Snapshot:
    cap = load_inventory(EXAPOD)
    extra = tuple(GpuNode("gpu-v100", f"n{i}") for i in range(1000))
    cap = replace(cap, gpu_nodes=cap.gpu_nodes + extra)
    # Fill ~70% of the cluster with running jobs through the core itself.
    filler = Scheduler(cap)
    for i in range(4000):
        filler.submit(_job(rng, f"r{i}", float(i)))
    filler.schedule(0.0)
    running = tuple(replace(r, est_end_time=rng.uniform(100, 10_000), last_checkpoint_time=0.0)
                    for r in filler.running())
    queue = tuple(_job(rng, f"q{i}", 1000.0 + i) for i in range(PENDING))
    return Snapshot(2000.0, cap, queue, running)


def _job(rng: random.Random, jid: str, t: float) -> JobRequest:
    accel = rng.choice(ACCELS)
    count = rng.choice([1, 1, 2, 4]) if accel == "dojo-tile" else rng.choice([1, 2, 4, 8, 8, 16])
    return JobRequest(jid, rng.choice(TENANTS), (accel,), count, t,
                      rng.choice([0, 100, 100, 200]), est_duration_s=rng.uniform(60, 36_000))


def main() -> None:
    snap = _snapshot(random.Random(7))
    samples = []
    for _ in range(PASSES):
        t0 = time.perf_counter()
        decisions = schedule(snap)
        samples.append((time.perf_counter() - t0) * 1000)
    assert len(decisions.admits) + len(decisions.pending) == PENDING
    samples.sort()
    p99 = samples[min(len(samples) - 1, int(0.99 * len(samples)))]
    print("BENCH " + json.dumps({
        "name": "sched_pass_latency", "value": round(p99, 2), "unit": "ms",
        "p50": round(statistics.median(samples), 2), "baseline": 100.0,
        "ratio": round(p99 / 100.0, 3), "pending": PENDING, "running": len(snap.running),
        "admitted": len(decisions.admits), "preempted": len(decisions.preemptions),
    }))


if __name__ == "__main__":
    main()
