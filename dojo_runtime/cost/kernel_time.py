"""Modelled time of one kernel on a target: a roofline with a fixed per-kernel overhead.

compute = flops / (peak(format) x efficiency)     matrix units for matmul/conv/attention,
                                                  the FP32 vector units otherwise
memory  = Dojo: working set fits the partition's usable SRAM -> SRAM ports
                (reads at load bandwidth, writes at store bandwidth, concurrently);
                else every byte streams from the DIPs' HBM
          GPU:  every byte at HBM bandwidth
total   = max(compute, memory) + overhead         (compute and traffic overlap)
"""

from __future__ import annotations

from dataclasses import dataclass

from dojo_runtime.cost.targets import Target
from dojo_runtime.kernels import KERNEL_CLASSES, KernelCall

MATRIX_CLASSES = frozenset({"matmul", "conv2d", "attention"})


@dataclass(frozen=True, slots=True)
class KernelTime:
    kind: str
    compute_s: float
    memory_s: float
    overhead_s: float
    from_sram: bool

    @property
    def exposed_memory_s(self) -> float:
        """Memory time not hidden behind compute: what the breakdown calls memory."""
        return max(0.0, self.memory_s - self.compute_s)

    @property
    def total_s(self) -> float:
        return max(self.compute_s, self.memory_s) + self.overhead_s


def compute_seconds(call: KernelCall, target: Target) -> float:
    if call.kind in MATRIX_CLASSES:
        rate = target.peak(call.precision) * target.matrix_efficiency(call.kind, call.precision)
    else:
        target.peak(call.precision)  # validates the format name
        rate = target.vector_peak * target.efficiency.vector
    return call.flops / rate


def memory_seconds(call: KernelCall, target: Target) -> tuple[float, bool]:
    """Seconds moving the kernel's bytes, and whether they stayed in SRAM."""
    eff = target.efficiency.memory
    working_set = call.bytes_read + call.bytes_written
    if target.sram_bytes > 0 and working_set <= target.sram_bytes:
        reads = call.bytes_read / (target.sram_read_bytes_per_s * eff)
        writes = call.bytes_written / (target.sram_write_bytes_per_s * eff)
        return max(reads, writes), True
    return working_set / (target.offchip_bytes_per_s * eff), False


def kernel_time(call: KernelCall, target: Target) -> KernelTime:
    if call.kind not in KERNEL_CLASSES:
        raise ValueError(f"unknown kernel class {call.kind!r}; one of {KERNEL_CLASSES}")
    if min(call.flops, call.bytes_read, call.bytes_written) < 0:
        raise ValueError("a kernel's flops and bytes must be non-negative")
    memory, from_sram = memory_seconds(call, target)
    return KernelTime(
        call.kind, compute_seconds(call, target), memory, target.kernel_overhead_s, from_sram
    )
