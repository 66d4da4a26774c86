"""Platform benchmarks over the real processes of `make up` (SQLite + embedded Redis, free
ports, a temporary state folder).

e2e_latency        seconds from CreateJob to RUNNING and to SUCCEEDED for examples/digits-mlp.yaml
platform_overhead  training samples/s of a job through the platform (RUNNING → SUCCEEDED:
                   worker, segments, checkpoints, metrics, ledger) over the same config's bare
                   training loop in one process (dojo_runtime.training.Trainer), same run.
"""

from __future__ import annotations

import time

from benchmarks.bare_training import samples_per_second
from benchmarks.live_stack import live_stack
from benchmarks.report import bench
from devstack import REPO
from dojo import specfile
from dojo.client import Client
from dojo.v1 import job_pb2

EXAMPLE = REPO / "examples" / "digits-mlp.yaml"


def _overhead_spec() -> job_pb2.JobSpec:
    """Big enough that a segment is seconds of training, as real jobs are."""
    spec = specfile.load(str(EXAMPLE))
    spec.name = "overhead-mlp"
    spec.model.params["hidden"] = 1024
    spec.model.params["layers"] = 3
    spec.training.precision = "fp32"
    spec.training.batch_size = 256
    spec.training.steps = 600
    spec.training.checkpoint_interval = 200
    return spec


def _run(c: Client, spec: job_pb2.JobSpec) -> tuple[float, float, float]:
    """(created, first RUNNING, SUCCEEDED) on this process's clock."""
    created = time.perf_counter()
    job = c.create_job(spec)
    running = done = 0.0
    for event in c.watch_job(job.name):
        if event.WhichOneof("kind") != "state_change":
            continue
        now = time.perf_counter()
        if event.state_change.to_state == job_pb2.RUNNING:
            running = running or now
        elif event.state_change.to_state == job_pb2.SUCCEEDED:
            done = now
    final = c.get_job(job.name)
    if final.state != job_pb2.SUCCEEDED:
        raise RuntimeError(
            f"{final.name} ended {job_pb2.JobState.Name(final.state)}: {final.state_reason}"
        )
    return created, running, done


def main() -> None:
    with (
        live_stack("dojo-bench-", DOJO_SCHED_INTERVAL_S="1") as live,
        Client(live.client_config) as c,
    ):
        created, running, done = _run(c, specfile.load(str(EXAMPLE)))
        bench(
            "e2e_latency",
            done - created,
            "s",
            to_running_s=round(running - created, 3),
            to_succeeded_s=round(done - created, 3),
        )
        spec = _overhead_spec()
        _, running, done = _run(c, spec)
        platform_sps = spec.training.steps * spec.training.batch_size / (done - running)
        bare_sps = samples_per_second(spec, int(live.env["DOJO_TORCH_THREADS"]))
    bench(
        "platform_overhead",
        platform_sps,
        "samples/s",
        baseline=bare_sps,
        ratio=platform_sps / bare_sps,
        target_ratio=0.9,
    )
