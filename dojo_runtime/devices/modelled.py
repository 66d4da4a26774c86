"""The virtual clock and step bookkeeping shared by every modelled device."""

from __future__ import annotations

from collections.abc import Iterable

from dojo_runtime.cost import (
    BreakdownAccumulator,
    StepBreakdown,
    Target,
    kernel_time,
)
from dojo_runtime.kernels import KernelCall


class ModelledDevice:
    """Advances a virtual clock by the modelled time of the kernels and collectives it runs.

    Subclasses say what the hardware is (`target`) and how gradients are all-reduced.
    """

    accelerator: str
    count: int

    def __init__(self, target: Target, precision: str) -> None:
        target.peak(precision)  # rejects an unknown format early
        self.target = target
        self.accelerator = target.accelerator
        self.count = target.count
        self.precision = precision
        self.clock = 0.0
        self.steps = 0
        self._current = BreakdownAccumulator()
        self._last: StepBreakdown | None = None

    @property
    def torch_device(self) -> str:
        """Where the emulation executes: CUDA for GPU groups when present, else the CPU."""
        if self.target.kind == "gpu":
            import torch

            if torch.cuda.is_available():
                return "cuda"
        return "cpu"

    def run_kernel(self, call: KernelCall) -> float:
        kt = kernel_time(call, self.target)
        self._current.add_kernel(kt)
        self.clock += kt.total_s
        return kt.total_s

    def allreduce_seconds(self, grad_bytes: float) -> float:
        raise NotImplementedError

    def step_end(self, grad_bytes: float) -> float:
        """All-reduce the step's gradients, close the step's breakdown; returns comm seconds."""
        if grad_bytes < 0:
            raise ValueError("grad_bytes must be non-negative")
        comm = self.allreduce_seconds(grad_bytes)
        self._current.add_comm(comm)
        self.clock += comm
        self._last = self._current.freeze()
        self._current = BreakdownAccumulator()
        self.steps += 1
        return comm

    def run_step(self, calls: Iterable[KernelCall], grad_bytes: float) -> float:
        """Run one step's kernels and its all-reduce; returns the step's modelled seconds."""
        start = self.clock
        for call in calls:
            self.run_kernel(call)
        self.step_end(grad_bytes)
        return self.clock - start

    def breakdown(self) -> StepBreakdown:
        """The last completed step; before any step ends, the kernels run so far."""
        return self._last if self._last is not None else self._current.freeze()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.accelerator!r}, count={self.count}, "
            f"precision={self.precision!r}, clock={self.clock:.6g})"
        )
