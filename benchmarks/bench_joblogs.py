"""What a job's log costs the job, measured in this run (no servers needed).

log_line_cost  microseconds the worker spends on one log line (scrub of server paths and
               secrets, then format), over the wall time of one training step of the
               integration tests' model (a one-layer MLP on digits, batch 16, one thread):
               the CPU a line per step takes beside the step, at worst
               (DOJO_METRIC_EVERY_STEPS=1). The worker does it, not the job process.
"""

from __future__ import annotations

import sys
import sysconfig
import time
from pathlib import Path

import torch

from benchmarks.report import bench
from dojo_runtime.config import TrainConfig
from dojo_runtime.training import Trainer
from dojocloud.execution.log_lines import format_line, scrub

LINES = 20_000
STEPS = 300


def _roots() -> list[tuple[str, str]]:
    paths = sysconfig.get_paths()
    return [
        (str(Path.cwd() / "var"), "<data>"),
        (str(Path.cwd()), "<platform>"),
        (paths["purelib"], "<site-packages>"),
        (paths["platlib"], "<site-packages>"),
        (sys.prefix, "<python>"),
        (sys.base_prefix, "<python>"),
        (paths["stdlib"], "<python>"),
        (str(Path.home()), "~"),
    ]


def _line_seconds() -> float:
    roots = _roots()
    text = (
        f"step 1234: loss 2.30258, accuracy 0.1250, 5321.4 samples/s (modelled 1.2e+06 "
        f"samples/s on the target) at {paths_example()}"
    )
    started = time.perf_counter()
    for i in range(LINES):
        format_line(1.7e9 + i, "INFO", scrub(text, roots))
    return (time.perf_counter() - started) / LINES


def paths_example() -> str:
    return f"{sysconfig.get_paths()['purelib']}/torch/nn/functional.py:3059"


def _step_seconds() -> float:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        cfg = TrainConfig("mlp", {"hidden": 8, "layers": 1}, batch_size=16, learning_rate=0.05)
        trainer = Trainer(cfg)
        state = trainer.train(trainer.initial_state(), 30)  # warm-up
        started = time.perf_counter()
        trainer.train(state, 30 + STEPS)
        return (time.perf_counter() - started) / STEPS
    finally:
        torch.set_num_threads(threads)


def main() -> None:
    line, step = _line_seconds(), _step_seconds()
    bench("log_line_cost", line * 1e6, "us/line", baseline=step * 1e6, ratio=line / step)


if __name__ == "__main__":
    main()
