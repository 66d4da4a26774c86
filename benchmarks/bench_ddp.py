"""Data-parallel ranks, through the platform's own job processes (the worker's supervisor,
the fork server, gloo over loopback), without the rest of the stack.

ddp_scaling_2ranks  samples/s of the CNN on digits trained as 2 ranks (one torch thread
                    each, gloo) ÷ the same job as 1 rank (one thread), the same global batch,
                    same run (value: 2-rank samples/s, baseline: 1-rank samples/s, ratio:
                    the scaling). Timed from the step metrics after warm-up steps, so the
                    fork, the rendezvous and the data load are not in it. On an idle machine
                    of 2+ cores expect up to ~2 less the per-step all-reduce; a shared
                    machine gives less (with the kernel's autogroup scheduling one session's
                    processes share one session's slice: the cpu_share fields show it).
"""

from __future__ import annotations

import os

from benchmarks.cpu_meter import CpuMeter
from benchmarks.report import bench
from dojo_runtime.config import StepMetrics, TrainConfig
from dojocloud.execution import supervisor
from dojocloud.execution.jobproc import SegmentOrder

STEPS = 60
WARM = 10  # steps left out of the timing (first-touch allocations, caches)
BATCH = 128


def _config(devices: int) -> TrainConfig:
    return TrainConfig(
        architecture="cnn",
        model_params={"channels": 32, "blocks": 2},
        dataset="digits",
        steps=STEPS,
        batch_size=BATCH,
        optimizer="adam",
        learning_rate=1e-3,
        precision="fp32",
        seed=1,
        accelerator="dojo-tile",
        device_count=devices,
    )


def _samples_per_second(world: int) -> float:
    seen: list[StepMetrics] = []
    order = SegmentOrder(
        config=_config(world),
        checkpoint=None,
        until_step=STEPS,
        threads=1,
        memory_limit_bytes=0,
        metric_every=1,
        world=world,
    )
    end = supervisor.run_job_process(
        order,
        start_step=0,
        on_step=seen.append,
        should_stop=lambda: None,
        keep_checkpoint=lambda _: False,
        grace_s=5.0,
        rendezvous_timeout_s=60.0,
    )
    if end.failure is not None or end.end_step != STEPS:
        raise RuntimeError(f"{world} rank(s) ended {end.failure}: {end.message}")
    by_step = {m.step: m for m in seen}
    timed = by_step[STEPS].wall_seconds - by_step[WARM].wall_seconds
    return (STEPS - WARM) * BATCH / timed


def main() -> None:
    supervisor.start_fork_server()
    _samples_per_second(1)  # warm: the fork server's imports, the dataset's cache
    with CpuMeter() as alone:
        one = _samples_per_second(1)
    with CpuMeter() as gang:
        two = _samples_per_second(2)
    bench(
        "ddp_scaling_2ranks",
        two,
        "samples/s",
        baseline=one,
        ratio=two / one,
        architecture="cnn",
        global_batch=BATCH,
        steps_timed=STEPS - WARM,
        threads_per_rank=1,
        backend="gloo",
        cores=len(os.sched_getaffinity(0)),
        # Where the CPU went (benchmarks/cpu_meter.py): a cpu_share near 1 ÷ cores for
        # both means this session got one core's worth either way (a contended machine).
        **alone.fields("one_rank"),
        **gang.fields("two_ranks"),
    )
