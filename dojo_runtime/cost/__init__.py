"""Cost model: modelled seconds of kernels and collectives on Dojo partitions and GPU groups.

Pure: takes specs and kernel calls, returns seconds. Parameters (efficiency factors, overheads)
are data in `dojo_runtime/specs/cost_model.yaml`, each with its reason.
"""

from dojo_runtime.cost.breakdown import (
    EMPTY_BREAKDOWN,
    BreakdownAccumulator,
    ClassTime,
    StepBreakdown,
)
from dojo_runtime.cost.collectives import (
    dojo_allreduce_seconds,
    gpu_allreduce_seconds,
    ring_allreduce_seconds,
    tray_split,
)
from dojo_runtime.cost.kernel_time import MATRIX_CLASSES, KernelTime, kernel_time
from dojo_runtime.cost.targets import PRECISIONS, Target, dojo_target, gpu_target

__all__ = [
    "EMPTY_BREAKDOWN",
    "MATRIX_CLASSES",
    "PRECISIONS",
    "BreakdownAccumulator",
    "ClassTime",
    "KernelTime",
    "StepBreakdown",
    "Target",
    "dojo_allreduce_seconds",
    "dojo_target",
    "gpu_allreduce_seconds",
    "gpu_target",
    "kernel_time",
    "ring_allreduce_seconds",
    "tray_split",
]
