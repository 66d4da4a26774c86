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
import tempfile
import time
from pathlib import Path

from benchmarks.cpu_meter import CpuMeter
from benchmarks.report import bench
from devstack import REPO, Ports, Stack, env_file_value
from dojo import specfile
from dojo.client import Client
from dojo.config import ClientConfig
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
    base = Path(tempfile.mkdtemp(prefix="dojo-bench-"))
    env = {
        "DATABASE_URL": f"sqlite:///{base / 'bench.sqlite3'}",
        "DOJO_DATA_DIR": str(base),
        "DOJO_DEMO_ENV_FILE": str(base / "demo.env"),
        "DOJO_SCHED_INTERVAL_S": "0.5",
        "PROMETHEUS_MULTIPROC_DIR": str(base / "prom"),
        "DOJO_CREATE_JOB_RATE": "0",
    }
    os.environ.pop("REDIS_URL", None)
    stack = Stack(
        env=env,
        ports=Ports.ephemeral(),
        state_dir=base,
        log_dir=base / "logs",
        quiet_seed=True,
        prometheus=False,
    )
    env = stack.start()
    try:
        key = env_file_value(base / "demo.env", "DOJO_API_KEY") or ""
        cfg = ClientConfig(server=f"127.0.0.1:{stack.ports.grpc}", api_key=key, timeout=30)
        with Client(cfg) as c:
            _wait(c, [c.create_job(_spec(-1)).name])  # warm: the fork server, the caches
            with CpuMeter() as at_once:
                concurrent = _concurrent(c)
            with CpuMeter() as one_by_one:
                sequential = _sequential(c)
        # value: the six at once; baseline: the same six one after another; ratio: speedup.
        bench(
            "concurrent_jobs_speedup",
            concurrent,
            "s",
            baseline=sequential,
            ratio=sequential / concurrent,
            concurrent_wall_s=round(concurrent, 3),
            sequential_wall_s=round(sequential, 3),
            jobs=JOBS,
            cores=len(os.sched_getaffinity(0)),
            torch_threads=int(env.get("DOJO_TORCH_THREADS", "0")),
            # Where the CPU went (benchmarks/cpu_meter.py): the jobs' own CPU seconds, their
            # share of the machine's cores, and how busy the whole machine was.
            **at_once.fields("concurrent"),
            **one_by_one.fields("sequential"),
        )
    finally:
        stack.stop()
