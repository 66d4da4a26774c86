"""What one executed kernel costs, as the ops report it to a device's cost model."""

from __future__ import annotations

from dataclasses import dataclass

# Kernel classes the cost model and the per-step breakdown know about.
KERNEL_CLASSES = (
    "matmul",  # linear layers, plain matmuls
    "conv2d",
    "attention",  # the score and value matmuls of attention
    "norm",  # layer norm
    "softmax",
    "elementwise",  # GELU, ReLU, adds, optimizer updates
    "embedding",
    "loss",  # cross-entropy
)


@dataclass(frozen=True, slots=True)
class KernelCall:
    kind: str  # one of KERNEL_CLASSES
    flops: float  # floating-point operations (a multiply-add counts 2)
    bytes_read: float  # operand bytes at the storage format's width
    bytes_written: float
    phase: str = "forward"  # "forward" | "backward" | "optimizer"
    precision: str = "fp32"  # format the math runs in: "fp32" | "bf16" | "cfp8"
