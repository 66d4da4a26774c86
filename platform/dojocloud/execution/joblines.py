"""The job process's log lines: what it says when the data is loaded, every metric step,
at an evaluation, and the Python warnings training raises. Text only; the job process
sends them over its pipe (jobproc), the worker scrubs and stores them (joblog)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

from dojo_runtime.config import StepMetrics


def data_loaded(trainer: Any) -> str:
    """`trainer`: a dojo_runtime Trainer (typed loosely: this module imports no torch)."""
    info, cfg = trainer.info, trainer.config
    return (
        f"data loaded: {info.name}, {info.train_size} training and {info.eval_size} held-out "
        f"samples; model {cfg.architecture} on {cfg.device_count} x {cfg.accelerator} "
        f"({cfg.precision}, batch {cfg.batch_size})"
    )


def segment_start(step: int, until: int, resumed: bool) -> str:
    start = f"resumed from the checkpoint at step {step}" if resumed else "starting at step 0"
    return f"{start}; training to step {until}"


def step_line(m: StepMetrics) -> str:
    acc = f", accuracy {m.accuracy:.4f}" if m.accuracy is not None else ""
    return (
        f"step {m.step}: loss {m.loss:.6g}{acc}, {m.samples_per_second:.1f} samples/s "
        f"(modelled {m.modelled_samples_per_second:.1f} samples/s on the target)"
    )


def evaluation(result: dict[str, float]) -> str:
    held_out = f"evaluation on {int(result['samples'])} held-out samples"
    if math.isnan(result["accuracy"]):  # a regression: the loss is the MSE
        return f"{held_out}: mse {result['loss']:.6g}"
    return f"{held_out}: loss {result['loss']:.6g}, accuracy {result['accuracy']:.4f}"


def log_warnings(send: Callable[[str], None]) -> None:
    """Python warnings (torch's, numpy's) become WARNING lines of the job's log."""

    def show(message: Warning | str, category: type[Warning], *_: Any, **__: Any) -> None:
        send(f"{category.__name__}: {message}")

    warnings.showwarning = show
