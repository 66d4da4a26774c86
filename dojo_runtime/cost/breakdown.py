"""Per-step breakdown of modelled time: compute, memory, communication, by kernel class."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from dojo_runtime.cost.kernel_time import KernelTime


@dataclass(frozen=True)
class ClassTime:
    """Modelled time of one kernel class within a step."""

    calls: int
    compute_s: float
    memory_s: float  # exposed: not hidden behind compute
    overhead_s: float

    @property
    def total_s(self) -> float:
        return self.compute_s + self.memory_s + self.overhead_s


@dataclass(frozen=True)
class StepBreakdown:
    compute_s: float
    memory_s: float  # exposed memory time of all kernels
    overhead_s: float  # per-kernel fixed costs
    comm_s: float  # gradient all-reduce
    by_class: Mapping[str, ClassTime]

    @property
    def total_s(self) -> float:
        return self.compute_s + self.memory_s + self.overhead_s + self.comm_s

    def seconds_by_class(self) -> dict[str, float]:
        return {kind: ct.total_s for kind, ct in self.by_class.items()}


EMPTY_BREAKDOWN = StepBreakdown(0.0, 0.0, 0.0, 0.0, MappingProxyType({}))


class BreakdownAccumulator:
    """Collects the kernels and the all-reduce of one step."""

    def __init__(self) -> None:
        self._classes: dict[str, ClassTime] = {}
        self._comm_s = 0.0

    def add_kernel(self, kt: KernelTime) -> None:
        prev = self._classes.get(kt.kind, ClassTime(0, 0.0, 0.0, 0.0))
        self._classes[kt.kind] = ClassTime(
            prev.calls + 1,
            prev.compute_s + kt.compute_s,
            prev.memory_s + kt.exposed_memory_s,
            prev.overhead_s + kt.overhead_s,
        )

    def add_comm(self, seconds: float) -> None:
        self._comm_s += seconds

    def freeze(self) -> StepBreakdown:
        classes = self._classes.values()
        return StepBreakdown(
            compute_s=sum(c.compute_s for c in classes),
            memory_s=sum(c.memory_s for c in classes),
            overhead_s=sum(c.overhead_s for c in classes),
            comm_s=self._comm_s,
            by_class=MappingProxyType(dict(self._classes)),
        )
