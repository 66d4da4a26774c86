"""Modelled devices: a Dojo partition of whole tiles, or a group of GPUs of one type.

Each keeps a virtual device clock advanced by the cost model's time of what it runs. The
engine creates one per run with `make_device` and reports every executed kernel to it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from dojo_runtime.cost import StepBreakdown
from dojo_runtime.devices.dojo import DojoPartition, tray_shape
from dojo_runtime.devices.gpu import GpuGroup
from dojo_runtime.devices.modelled import ModelledDevice
from dojo_runtime.kernels import KernelCall
from dojo_runtime.specs import (
    CostParams,
    HardwareSpecs,
    accelerator_kind,
    load_cost_params,
    load_hardware,
)


class Device(Protocol):
    accelerator: str  # "dojo-tile" | "gpu-a100" | "gpu-h100" | ...
    count: int
    clock: float  # modelled seconds so far

    def run_kernel(self, call: KernelCall) -> float: ...  # advances clock, returns seconds
    def step_end(self, grad_bytes: float) -> float: ...  # gradient all-reduce; advances clock
    def breakdown(self) -> StepBreakdown: ...  # of the last step
    def run_step(self, calls: Iterable[KernelCall], grad_bytes: float) -> float: ...

    @property
    def torch_device(self) -> str: ...  # "cuda" for GPU groups if present


def make_device(
    accelerator: str,
    count: int,
    precision: str,
    *,
    hw: HardwareSpecs | None = None,
    params: CostParams | None = None,
) -> ModelledDevice:
    """A device for `count` tiles or GPUs of `accelerator`; specs default to the packaged ones."""
    if count < 1:
        raise ValueError("count must be at least 1")
    hw = hw or load_hardware()
    params = params or load_cost_params()
    if accelerator_kind(accelerator) == "dojo":
        return DojoPartition(count, precision, hw, params)
    return GpuGroup(accelerator, count, precision, hw, params)


__all__ = [
    "Device",
    "DojoPartition",
    "GpuGroup",
    "ModelledDevice",
    "StepBreakdown",
    "make_device",
    "tray_shape",
]
