"""The operator surface the catalog models call: the target's numerics.

`dojo_runtime.ops.get_numerics` returns the real implementation (emulated formats, kernel
reporting). `PlainTorchNumerics` is the same surface over plain FP32 torch: the reference
that emulation is compared against, and, fed meta tensors, the shape tracer that
`step_profile` uses to count a step's kernels without computing anything.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import torch
import torch.nn.functional as F

from dojo_runtime.kernels import KernelCall

KernelSink = Callable[[KernelCall], Any]


class Numerics(Protocol):
    name: str
    on_kernel: KernelSink | None

    def linear(
        self, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None = None
    ) -> torch.Tensor: ...
    def matmul(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor: ...
    def conv2d(
        self,
        x: torch.Tensor,
        w: torch.Tensor,
        b: torch.Tensor | None = None,
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] = 0,
    ) -> torch.Tensor: ...
    def attention(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, causal: bool
    ) -> torch.Tensor: ...
    def layer_norm(
        self,
        x: torch.Tensor,
        shape: Sequence[int],
        w: torch.Tensor | None,
        b: torch.Tensor | None,
        eps: float = 1e-5,
    ) -> torch.Tensor: ...
    def softmax(self, x: torch.Tensor, dim: int = -1) -> torch.Tensor: ...
    def gelu(self, x: torch.Tensor) -> torch.Tensor: ...
    def relu(self, x: torch.Tensor) -> torch.Tensor: ...
    def batch_norm(
        self, x: torch.Tensor, w: torch.Tensor | None, b: torch.Tensor | None, eps: float = 1e-5
    ) -> torch.Tensor: ...
    def max_pool2d(
        self, x: torch.Tensor, kernel: int, stride: int, padding: int = 0
    ) -> torch.Tensor: ...
    def global_avg_pool(self, x: torch.Tensor) -> torch.Tensor: ...
    def add(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor: ...
    def residual(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor: ...
    def embedding(self, idx: torch.Tensor, w: torch.Tensor) -> torch.Tensor: ...
    def cross_entropy(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor: ...
    def mse(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor: ...
    def state_dict(self) -> dict[str, Any]: ...
    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class PlainTorchNumerics:
    """FP32 torch ops; no kernel reporting, no state."""

    name = "fp32-reference"

    def __init__(self) -> None:
        self.on_kernel: KernelSink | None = None

    def linear(
        self, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None = None
    ) -> torch.Tensor:
        return F.linear(x, w, b)

    def matmul(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.matmul(a, b)

    def conv2d(
        self,
        x: torch.Tensor,
        w: torch.Tensor,
        b: torch.Tensor | None = None,
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] = 0,
    ) -> torch.Tensor:
        return F.conv2d(x, w, b, stride=stride, padding=padding)

    def attention(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, causal: bool
    ) -> torch.Tensor:
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)

    def layer_norm(
        self,
        x: torch.Tensor,
        shape: Sequence[int],
        w: torch.Tensor | None,
        b: torch.Tensor | None,
        eps: float = 1e-5,
    ) -> torch.Tensor:
        return F.layer_norm(x, tuple(shape), w, b, eps)

    def softmax(self, x: torch.Tensor, dim: int = -1) -> torch.Tensor:
        return torch.softmax(x, dim=dim)

    def gelu(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(x)

    def relu(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x)

    def batch_norm(
        self, x: torch.Tensor, w: torch.Tensor | None, b: torch.Tensor | None, eps: float = 1e-5
    ) -> torch.Tensor:
        return F.batch_norm(x, None, None, w, b, True, 0.0, eps)

    def max_pool2d(
        self, x: torch.Tensor, kernel: int, stride: int, padding: int = 0
    ) -> torch.Tensor:
        return F.max_pool2d(x, kernel, stride, padding)

    def global_avg_pool(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))

    def add(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a + b

    def residual(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a + b

    def embedding(self, idx: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return F.embedding(idx, w)

    def cross_entropy(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, target)

    def mse(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(prediction, target)

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        return None
