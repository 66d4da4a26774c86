"""Layers whose forward runs on the target's numerics.

Each layer holds a reference to the Numerics (kept out of the module tree, so it never
appears in a state dict) and initialises itself from an explicit torch.Generator: the
model's weights depend on the job's seed alone.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import nn

from dojo_runtime.catalog.numerics_api import Numerics


class NumericsModule(nn.Module):
    def __init__(self, nx: Numerics) -> None:
        super().__init__()
        object.__setattr__(self, "nx", nx)  # a plain reference, not a submodule

    nx: Numerics

    if TYPE_CHECKING:
        # nn.Module types __call__ as Callable[..., Any]; every layer here maps one tensor
        # to one tensor, so callers keep the Tensor type (runtime dispatch is untouched).
        def __call__(self, x: torch.Tensor) -> torch.Tensor: ...

    def init_weights(self, g: torch.Generator) -> None:
        """Overridden by layers with parameters; called once per module by init_model."""


class Linear(NumericsModule):
    def __init__(self, nx: Numerics, fan_in: int, fan_out: int, *, bias: bool = True) -> None:
        super().__init__(nx)
        self.weight = nn.Parameter(torch.empty(fan_out, fan_in))
        self.bias = nn.Parameter(torch.empty(fan_out)) if bias else None

    def init_weights(self, g: torch.Generator) -> None:
        with torch.no_grad():
            self.weight.normal_(0.0, 1.0 / math.sqrt(self.weight.shape[1]), generator=g)
            if self.bias is not None:
                self.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.nx.linear(x, self.weight, self.bias)


class Conv2d(NumericsModule):
    def __init__(
        self,
        nx: Numerics,
        c_in: int,
        c_out: int,
        kernel: int,
        *,
        stride: int = 1,
        padding: int = 0,
        bias: bool = True,
    ) -> None:
        super().__init__(nx)
        self.weight = nn.Parameter(torch.empty(c_out, c_in, kernel, kernel))
        self.bias = nn.Parameter(torch.empty(c_out)) if bias else None
        self.stride, self.padding = stride, padding

    def init_weights(self, g: torch.Generator) -> None:
        fan_in = self.weight[0].numel()
        with torch.no_grad():
            self.weight.normal_(0.0, math.sqrt(2.0 / fan_in), generator=g)
            if self.bias is not None:
                self.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.nx.conv2d(x, self.weight, self.bias, self.stride, self.padding)


class LayerNorm(NumericsModule):
    def __init__(self, nx: Numerics, shape: tuple[int, ...]) -> None:
        super().__init__(nx)
        self.shape = shape
        self.weight = nn.Parameter(torch.empty(shape))
        self.bias = nn.Parameter(torch.empty(shape))

    def init_weights(self, g: torch.Generator) -> None:
        with torch.no_grad():
            self.weight.fill_(1.0)
            self.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.nx.layer_norm(x, self.shape, self.weight, self.bias)


class BatchNorm2d(NumericsModule):
    """Batch norm over (N, H, W) per channel with batch statistics (training mode; running
    averages are an inference concern the cost and memory models do not need)."""

    def __init__(self, nx: Numerics, channels: int) -> None:
        super().__init__(nx)
        self.weight = nn.Parameter(torch.empty(channels))
        self.bias = nn.Parameter(torch.empty(channels))

    def init_weights(self, g: torch.Generator) -> None:
        with torch.no_grad():
            self.weight.fill_(1.0)
            self.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.nx.batch_norm(x, self.weight, self.bias)


class _Table(NumericsModule):
    """A learned (count, dim) table, drawn from N(0, 0.02): what tokens and positions share."""

    def __init__(self, nx: Numerics, count: int, dim: int) -> None:
        super().__init__(nx)
        self.weight = nn.Parameter(torch.empty(count, dim))

    def init_weights(self, g: torch.Generator) -> None:
        with torch.no_grad():
            self.weight.normal_(0.0, 0.02, generator=g)


class Embedding(_Table):
    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        return self.nx.embedding(idx, self.weight)


class Positions(_Table):
    """Learned additive position embeddings for a fixed number of tokens."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.nx.residual(x, self.weight[: x.shape[-2]])


class FeedForward(NumericsModule):
    def __init__(self, nx: Numerics, dim: int, ratio: int = 4) -> None:
        super().__init__(nx)
        self.up = Linear(nx, dim, ratio * dim)
        self.down = Linear(nx, ratio * dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(self.nx.gelu(self.up(x)))


class SelfAttention(NumericsModule):
    """Multi-head self-attention over the second-to-last axis of (B, T, D)."""

    def __init__(self, nx: Numerics, dim: int, heads: int, *, causal: bool) -> None:
        super().__init__(nx)
        self.heads, self.causal = heads, causal
        self.qkv = Linear(nx, dim, 3 * dim)
        self.out = Linear(nx, dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        qkv = self.qkv(x).reshape(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        y = self.nx.attention(qkv[0], qkv[1], qkv[2], causal=self.causal)
        return self.out(y.transpose(1, 2).reshape(b, t, d))


class TransformerBlock(NumericsModule):
    """Pre-norm block: x + attn(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, nx: Numerics, dim: int, heads: int, *, causal: bool) -> None:
        super().__init__(nx)
        self.norm1 = LayerNorm(nx, (dim,))
        self.attn = SelfAttention(nx, dim, heads, causal=causal)
        self.norm2 = LayerNorm(nx, (dim,))
        self.mlp = FeedForward(nx, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.nx.residual(x, self.attn(self.norm1(x)))
        return self.nx.residual(x, self.mlp(self.norm2(x)))


def init_model(model: nn.Module, seed: int) -> None:
    """Initialise every layer in module order from one generator seeded by the job."""
    g = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, NumericsModule):
            module.init_weights(g)
