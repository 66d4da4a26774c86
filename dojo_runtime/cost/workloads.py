"""Analytic kernel profiles of published workloads (GPT-style decoders), for validating the
cost model against published throughput and for benchmarks at sizes the CPU cannot run.

Counting (per layer, T = batch x seq tokens, d = model width, b = bytes per element):
matmuls 2 FLOP per multiply-add; backward of a matmul is two matmuls (input and weight
gradients, 2x the forward FLOPs); backward of a vector op ~2x its forward traffic and FLOPs;
Adam reads weight, gradient and two moments in FP32 and writes three of them back.
"""

from __future__ import annotations

from dataclasses import dataclass

from dojo_runtime.kernels import KernelCall

BYTES_PER_ELEMENT = {"fp32": 4, "bf16": 2, "cfp16": 2, "cfp8": 1}
ADAM_FLOPS_PER_PARAM = 12
ADAM_BYTES_READ_PER_PARAM = 16  # fp32 master weight, gradient, m, v
ADAM_BYTES_WRITTEN_PER_PARAM = 12


@dataclass(frozen=True)
class GptShape:
    layers: int
    d_model: int
    heads: int
    seq_len: int
    vocab: int
    ffn_mult: int = 4

    @property
    def params(self) -> int:
        """Weights: 12 d^2 per layer (attention 4 d^2, MLP 8 d^2) plus the tied embedding."""
        return self.layers * 12 * self.d_model**2 + self.vocab * self.d_model

    def model_flops_per_token(self) -> float:
        """Forward + backward model FLOPs per token (no recompute): 6N + attention scores."""
        attention = 12 * self.layers * self.seq_len * self.d_model
        return 6.0 * self.params + attention


def _matmul(kind: str, m: float, k: float, n: float, b: int, precision: str) -> list[KernelCall]:
    """Forward and backward calls of an (m x k) @ (k x n) product."""
    flops = 2.0 * m * k * n
    io = (m * k + k * n) * b, m * n * b
    fwd = KernelCall(kind, flops, io[0], io[1], "forward", precision)
    # Backward: two products (gradients of both operands), reading both and the output grad.
    bwd = KernelCall(kind, 2 * flops, io[0] + 2 * io[1], io[0], "backward", precision)
    return [fwd, bwd]


def _vector(
    kind: str, elements: float, flops_per: float, b: int, precision: str
) -> list[KernelCall]:
    fwd = KernelCall(kind, elements * flops_per, elements * b, elements * b, "forward", precision)
    bwd = KernelCall(
        kind, 2 * elements * flops_per, 2 * elements * b, elements * b, "backward", precision
    )
    return [fwd, bwd]


def _layer(s: GptShape, batch: int, b: int, p: str) -> list[KernelCall]:
    t, d, f = batch * s.seq_len, s.d_model, s.ffn_mult * s.d_model
    scores = batch * s.heads * s.seq_len**2
    hd = d // s.heads
    calls = _vector("norm", t * d, 5, b, p)
    calls += _matmul("matmul", t, d, 3 * d, b, p)
    calls += _matmul("attention", batch * s.heads * s.seq_len, hd, s.seq_len, b, p)
    calls += _vector("softmax", scores, 5, b, p)
    calls += _matmul("attention", batch * s.heads * s.seq_len, s.seq_len, hd, b, p)
    calls += _matmul("matmul", t, d, d, b, p)
    calls += _vector("elementwise", t * d, 1, b, p)  # residual add
    calls += _vector("norm", t * d, 5, b, p)
    calls += _matmul("matmul", t, d, f, b, p)
    calls += _vector("elementwise", t * f, 8, b, p)  # GELU
    calls += _matmul("matmul", t, f, d, b, p)
    calls += _vector("elementwise", t * d, 1, b, p)  # residual add
    return calls


def gpt_step_profile(
    shape: GptShape, batch: int, precision: str = "bf16", grad_shards: int = 1
) -> tuple[list[KernelCall], float]:
    """Kernel calls of one training step at `batch` sequences, and the gradient bytes each
    data-parallel member all-reduces (`grad_shards`: model-parallel degree sharding them)."""
    b = BYTES_PER_ELEMENT[precision]
    t = batch * shape.seq_len
    calls = [
        KernelCall(
            "embedding",
            0.0,
            t * shape.d_model * b + t * 8,
            t * shape.d_model * b,
            "forward",
            precision,
        )
    ]
    for _ in range(shape.layers):
        calls += _layer(shape, batch, b, precision)
    calls += _vector("norm", t * shape.d_model, 5, b, precision)
    calls += _matmul("matmul", t, shape.d_model, shape.vocab, b, precision)
    calls += _vector("loss", t * shape.vocab, 5, b, precision)
    n = float(shape.params)
    calls.append(
        KernelCall(
            "elementwise",
            ADAM_FLOPS_PER_PARAM * n / grad_shards,
            ADAM_BYTES_READ_PER_PARAM * n / grad_shards,
            ADAM_BYTES_WRITTEN_PER_PARAM * n / grad_shards,
            "optimizer",
            "fp32",
        )
    )
    return calls, n * b / grad_shards


# GPT-3 175B (Brown et al. 2020, Table 2.1) at Megatron-LM's benchmark settings.
GPT3_175B = GptShape(layers=96, d_model=12288, heads=96, seq_len=2048, vocab=51200)
