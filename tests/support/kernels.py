"""A step's kernels for cost-model tests: known FLOPs and bytes, no model traced."""

from __future__ import annotations

from dojo_runtime.kernels import KernelCall


def matmul(batch: int = 64, width: int = 4096) -> KernelCall:
    """A bf16 (batch x width) @ (width x width) product: its FLOPs, bytes read and written."""
    return KernelCall(
        "matmul",
        2.0 * batch * width * width,
        2 * batch * width + 2 * width**2,
        2 * batch * width * 1.0,
        precision="bf16",
    )
