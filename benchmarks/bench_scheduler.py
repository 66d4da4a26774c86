"""sched_pass_latency: one scheduling pass with 10,000 pending jobs over
deploy/clusters/exapod.yaml plus 1,000 extra GPU nodes (pool gpu-v100), about 70% busy.

The pass is what the live loop runs (scheduling.runner): `Following`, which keeps the queue's
sorted index between passes, syncs it to the new Snapshot and decides with the same code,
and the same results, as `schedule(snapshot)`. Between passes 50 queued jobs leave and 50
arrive, and every job object is new (as a store reading rows builds them), so the sync
compares every job. Prints p50 and p99 milliseconds over repeated passes (seeded, so runs
compare), and the same for a cold `schedule(snapshot)` of each snapshot as the baseline.
"""

from __future__ import annotations

import gc
import json
import random
import statistics
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from scheduler.core import GpuNode, JobRequest, Snapshot, schedule
from scheduler.core.incremental import Following, Scheduler
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


def _passes(rng: random.Random, base: Snapshot, n: int) -> Iterator[Snapshot]:
    """One snapshot at a time, as the live loop holds them (30 alive at once would make the
    garbage collector's full sweeps, and so the passes they land in, slower than live)."""
    queue = list(base.queued)
    for i in range(n):
        for _ in range(50):
            queue.pop(rng.randrange(len(queue)))
        queue += [_job(rng, f"n{i}-{k}", 3000.0 + i) for k in range(50)]
        yield replace(base, now=base.now + i, queued=tuple(replace(j) for j in queue),
                      running=tuple(replace(r) for r in base.running))


def _ms(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    p99 = samples[min(len(samples) - 1, int(0.99 * len(samples)))]
    return round(statistics.median(samples), 2), round(p99, 2)


def main() -> None:
    rng = random.Random(7)
    base = _snapshot(rng)
    follow = Following()
    follow(base)   # the loop's first pass builds the index; every later one syncs it
    warm, cold = [], []
    for snap in _passes(rng, base, PASSES):
        gc.collect()   # neither timed call pays for the garbage of building the snapshot
        t0 = time.perf_counter()
        decisions = follow(snap)
        warm.append((time.perf_counter() - t0) * 1000)
        gc.collect()
        t0 = time.perf_counter()
        fresh = schedule(snap)
        cold.append((time.perf_counter() - t0) * 1000)
        assert decisions == fresh   # same decisions, or the comparison means nothing
    assert len(decisions.admits) + len(decisions.pending) == PENDING
    p50, p99 = _ms(warm)
    cold_p50, cold_p99 = _ms(cold)
    print("BENCH " + json.dumps({
        "name": "sched_pass_latency", "value": p99, "unit": "ms", "p50": p50,
        "target": 100.0, "baseline": cold_p99, "ratio": round(p99 / cold_p99, 3),
        "baseline_what": "p99 of a cold schedule(snapshot) of the same snapshots",
        "cold_p50": cold_p50, "pending": PENDING, "running": len(base.running),
        "admitted": len(decisions.admits), "preempted": len(decisions.preemptions),
    }))


if __name__ == "__main__":
    main()
