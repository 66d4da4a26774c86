"""Concurrent execution over the real processes of `make up` (SQLite + embedded Redis, free
ports, a temporary state folder).

concurrent_jobs_speedup  six one-tile jobs submitted at once, as the platform runs them (the
                         dojo pool's one worker, a job process per placed job), against the
                         same six submitted one after another on the same stack, same run
                         (value: the concurrent wall, baseline: the sequential wall, ratio:
                         sequential ÷ concurrent, the speedup). Each job process gets a thread
                         share of the host's cores, so on an idle machine of C cores expect
                         about C (a shared machine gives less: the cpu_share and
                         machine_busy fields say whether other processes took the cores).
"""

from __future__ import annotations

import os
import time

from benchmarks.bare_training import train_in_processes
from benchmarks.cpu_meter import CpuMeter
from benchmarks.live_stack import live_stack
from benchmarks.report import bench
from devstack import REPO
from dojo import specfile
from dojo.client import Client
from dojo.v1 import job_pb2

EXAMPLE = REPO / "examples" / "digits-mlp.yaml"
JOBS = 6
FINAL = {job_pb2.SUCCEEDED, job_pb2.FAILED, job_pb2.CANCELLED}


def _spec(i: int) -> job_pb2.JobSpec:
    """Seconds of training on one thread, one segment, one tile."""
    spec = specfile.load(str(EXAMPLE))
    spec.name = f"concurrent-{i}"
    spec.model.params["hidden"] = 256
    spec.model.params["layers"] = 2
    spec.training.precision = "fp32"
    spec.training.batch_size = 128
    spec.training.steps = 1500
    spec.training.checkpoint_interval = 1500
    del spec.resources.accelerators[:]
    spec.resources.accelerators.append("dojo-tile")
    spec.resources.count = 1
    return spec


def _wait(c: Client, names: list[str]) -> None:
    pending = set(names)
    while pending:
        for name in sorted(pending):
            job = c.get_job(name)
            if job.state in FINAL:
                if job.state != job_pb2.SUCCEEDED:
                    raise RuntimeError(
                        f"{name} ended {job_pb2.JobState.Name(job.state)}: {job.state_reason}"
                    )
                pending.discard(name)
        time.sleep(0.2)


def _concurrent(c: Client) -> float:
    started = time.perf_counter()
    names = [c.create_job(_spec(i)).name for i in range(JOBS)]
    _wait(c, names)
    return time.perf_counter() - started


def _sequential(c: Client) -> float:
    started = time.perf_counter()
    for i in range(JOBS):
        _wait(c, [c.create_job(_spec(JOBS + i)).name])
    return time.perf_counter() - started


def main() -> None:
    with (
        live_stack("dojo-bench-", DOJO_SCHED_INTERVAL_S="0.5", DOJO_CREATE_JOB_RATE="0") as live,
        Client(live.client_config) as c,
    ):
        _wait(c, [c.create_job(_spec(-1)).name])  # warm: the fork server, the caches
        with CpuMeter() as at_once:
            concurrent = _concurrent(c)
        with CpuMeter() as one_by_one:
            sequential = _sequential(c)
    # The machine's own ceiling for the same work: the same six trainings in bare
    # processes (no platform), at once over one after another, with the thread count the
    # platform gave each job. Where the cores share caches and memory bandwidth (a VM's
    # vCPUs) each training's CPU seconds grow side by side, so the ceiling is below the
    # core count: cores x CPU alone / CPU side by side, which other load on the machine
    # moves far less than the wall ratio (under autogroup, six sessions get six shares).
    threads = int(live.env.get("DOJO_TORCH_THREADS", "0")) or 1
    bare = [_spec(2 * JOBS + i) for i in range(JOBS)]
    bare_at_once = train_in_processes(bare, threads, at_once=True)
    bare_one_by_one = train_in_processes(bare, threads, at_once=False)
    cores = len(os.sched_getaffinity(0))
    ceiling = min(cores, JOBS) * bare_one_by_one.cpu_s / bare_at_once.cpu_s
    # value: the six at once; baseline: the same six one after another; ratio: speedup.
    bench(
        "concurrent_jobs_speedup",
        concurrent,
        "s",
        baseline=sequential,
        ratio=sequential / concurrent,
        # The bare processes' speedup, and how much of it the platform reached.
        machine_ceiling=round(ceiling, 3),
        of_ceiling=round(sequential / concurrent / ceiling, 3),
        bare_speedup=round(bare_one_by_one.wall_s / bare_at_once.wall_s, 3),
        bare_concurrent_cpu_s=round(bare_at_once.cpu_s, 3),
        bare_sequential_cpu_s=round(bare_one_by_one.cpu_s, 3),
        concurrent_wall_s=round(concurrent, 3),
        sequential_wall_s=round(sequential, 3),
        jobs=JOBS,
        cores=cores,
        torch_threads=int(live.env.get("DOJO_TORCH_THREADS", "0")),
        # Where the CPU went (benchmarks/cpu_meter.py): the jobs' own CPU seconds, their
        # share of the machine's cores, and how busy the whole machine was.
        **at_once.fields("concurrent"),
        **one_by_one.fields("sequential"),
    )
