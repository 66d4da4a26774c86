"""The space-time block of the video model: divided attention as in TimeSformer
(attend across frames at each spatial position, then across positions in each frame)."""

from __future__ import annotations

import torch

from dojo_runtime.catalog.layers import FeedForward, LayerNorm, NumericsModule, SelfAttention
from dojo_runtime.catalog.numerics_api import Numerics


class SpaceTimeBlock(NumericsModule):
    def __init__(self, nx: Numerics, dim: int, heads: int) -> None:
        super().__init__(nx)
        self.norm_t = LayerNorm(nx, (dim,))
        self.attn_t = SelfAttention(nx, dim, heads, causal=False)
        self.norm_s = LayerNorm(nx, (dim,))
        self.attn_s = SelfAttention(nx, dim, heads, causal=False)
        self.norm_m = LayerNorm(nx, (dim,))
        self.mlp = FeedForward(nx, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, F, N, D) tokens: F frames of N patches."""
        b, f, n, d = x.shape
        t = x.transpose(1, 2).reshape(b * n, f, d)  # sequences over time
        t = t + self.attn_t(self.norm_t(t))
        s = t.reshape(b, n, f, d).transpose(1, 2).reshape(b * f, n, d)  # sequences over space
        s = s + self.attn_s(self.norm_s(s))
        s = s + self.mlp(self.norm_m(s))
        return s.reshape(b, f, n, d)
