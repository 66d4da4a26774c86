"""A job's training without the platform: the runtime's Trainer on a JobSpec, in this process
or in separate ones. The benches compare the platform against it.

python -m benchmarks.bare_training SPEC.pb THREADS   # trains the spec once, prints samples/s
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dojo.v1 import job_pb2


def _trainer(spec: job_pb2.JobSpec, threads: int) -> Any:
    import torch

    from dojo_runtime.config import TrainConfig
    from dojo_runtime.training import Trainer

    torch.set_num_threads(threads)  # as many as the platform's job process had
    config = TrainConfig(
        architecture=spec.model.architecture,
        model_params=dict(spec.model.params),
        dataset=spec.dataset.name,
        steps=spec.training.steps,
        batch_size=spec.training.batch_size,
        optimizer=spec.training.optimizer,
        learning_rate=spec.training.learning_rate,
        precision=spec.training.precision,
        seed=spec.training.seed,
        accelerator=spec.resources.accelerators[0],
        device_count=spec.resources.count,
    )
    return Trainer(config)


def samples_per_second(spec: job_pb2.JobSpec, threads: int) -> float:
    trainer = _trainer(spec, threads)
    state = trainer.initial_state()
    started = time.perf_counter()
    trainer.train(state, spec.training.steps)
    return spec.training.steps * spec.training.batch_size / (time.perf_counter() - started)


@dataclass(frozen=True)
class Bare:
    wall_s: float  # from the first training's start to the last one's end
    cpu_s: float  # the trainings' own CPU seconds, summed


def train_in_processes(specs: list[job_pb2.JobSpec], threads: int, *, at_once: bool) -> Bare:
    """Wall and CPU seconds of training each spec in its own process (its own session, as the
    platform's job processes are: see the README on autogroup), all at once or one after
    another. Only the training counts: each process imports torch and builds its trainer
    first, then waits for a go on stdin, so start-up (which the platform's fork server
    saves its job processes) never enters the figure."""
    with tempfile.TemporaryDirectory(prefix="dojo-bare-") as tmp:
        procs = []
        for i, spec in enumerate(specs):
            path = Path(tmp) / f"{i}.pb"
            path.write_bytes(spec.SerializeToString())
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "benchmarks.bare_training", str(path), str(threads)],
                    env={**os.environ, "OMP_NUM_THREADS": str(threads)},
                    start_new_session=True,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
        try:
            for p in procs:
                assert p.stdout is not None
                if p.stdout.readline().strip() != "ready":
                    raise RuntimeError(f"bare training exited {p.wait()} before it was ready")
            spans = []
            if at_once:
                for p in procs:
                    _go(p)
                spans = [_span(p) for p in procs]
            else:
                for p in procs:
                    _go(p)
                    spans.append(_span(p))
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                p.wait()
        cpu = sum(c for _, _, c in spans)
        if at_once:
            return Bare(max(e for _, e, _ in spans) - min(s for s, _, _ in spans), cpu)
        return Bare(sum(e - s for s, e, _ in spans), cpu)


def _go(p: subprocess.Popen[str]) -> None:
    assert p.stdin is not None
    p.stdin.write("go\n")
    p.stdin.close()


def _span(p: subprocess.Popen[str]) -> tuple[float, float, float]:
    """(start, end, CPU seconds) of one process's training."""
    assert p.stdout is not None
    line = p.stdout.readline().split()
    if p.wait() != 0 or len(line) != 3:
        raise RuntimeError(f"bare training exited {p.returncode}")
    return float(line[0]), float(line[1]), float(line[2])


def main(argv: list[str]) -> int:
    spec = job_pb2.JobSpec()
    spec.ParseFromString(Path(argv[0]).read_bytes())
    trainer = _trainer(spec, int(argv[1]))
    state = trainer.initial_state()
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.monotonic()  # CLOCK_MONOTONIC: one clock for every process on the host
    cpu = time.process_time()
    trainer.train(state, spec.training.steps)
    print(f"{started} {time.monotonic()} {time.process_time() - cpu}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
