"""FLOP and byte counts of each op, reported to a device as `KernelCall`s.

Forward counts are exact for the math the op does (a multiply-add counts 2). Backward calls
are reported from an autograd hook on the op's output when its gradient is computed, with
the forward counts scaled by `BACKWARD_RATIO` (matmul-like ops compute two products
backward: the input and the weight gradients).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from dojo_runtime.kernels import KernelCall

# kind -> (backward flops / forward flops, backward bytes / forward bytes)
BACKWARD_RATIO: dict[str, tuple[float, float]] = {
    "matmul": (2.0, 2.0),
    "conv2d": (2.0, 2.0),
    "attention": (2.5, 2.0),  # flash-style backward recomputes the scores
    "norm": (2.0, 2.0),
    "softmax": (2.0, 1.5),
    "elementwise": (1.0, 1.5),
    "embedding": (1.0, 1.0),  # scatter-add of the output gradient into the table
    "loss": (1.0, 1.0),
}

# FLOPs per element of the simple ops (exp/erf count as a few operations).
PER_ELEMENT_FLOPS = {"norm": 8.0, "softmax": 5.0, "gelu": 10.0, "relu": 1.0, "loss": 5.0}


def report_kernel(
    sink: Callable[[KernelCall], None],
    precision: str,
    kind: str,
    flops: float,
    bytes_moved: tuple[float, float],
    out: torch.Tensor,
) -> None:
    """Send the forward call now; the backward call when `out`'s gradient is computed."""
    bytes_read, bytes_written = bytes_moved
    sink(KernelCall(kind, flops, bytes_read, bytes_written, "forward", precision))
    if not (out.requires_grad and torch.is_grad_enabled()):
        return
    f_ratio, b_ratio = BACKWARD_RATIO[kind]
    half = (bytes_read + bytes_written) * b_ratio / 2
    back = KernelCall(kind, flops * f_ratio, half, half, "backward", precision)

    def on_grad(_grad: torch.Tensor) -> None:
        sink(back)

    out.register_hook(on_grad)  # type: ignore[no-untyped-call]  # torch leaves it unannotated


def matmul_flops(a: torch.Tensor, b: torch.Tensor) -> float:
    """2 * m * k * n per matrix product, times the broadcast batch size."""
    if a.dim() == 1 or b.dim() == 1:
        return 2.0 * a.numel() * (b.shape[-1] if b.dim() > 1 else 1)
    # torch leaves broadcast_shapes unannotated; it returns a torch.Size.
    batch: torch.Size = torch.broadcast_shapes(a.shape[:-2], b.shape[:-2])  # type: ignore[no-untyped-call]
    return 2.0 * math.prod(batch) * a.shape[-2] * a.shape[-1] * b.shape[-1]


def linear_flops(x: torch.Tensor, weight: torch.Tensor, has_bias: bool) -> float:
    rows = x.numel() // x.shape[-1]
    out_features = weight.shape[0]
    return 2.0 * rows * x.shape[-1] * out_features + (rows * out_features if has_bias else 0)


def conv2d_flops(out: torch.Tensor, weight: torch.Tensor) -> float:
    per_output = weight.shape[1] * weight.shape[2] * weight.shape[3]  # (Cin/groups) kh kw
    return 2.0 * out.numel() * per_output


def attention_flops(q: torch.Tensor, k: torch.Tensor, causal: bool) -> float:
    *lead, t_q, d = q.shape
    t_k = k.shape[-2]
    pairs = math.prod(lead) * t_q * t_k * (0.5 if causal else 1.0)
    return 4.0 * pairs * d + PER_ELEMENT_FLOPS["softmax"] * pairs
