"""Networks of published training benchmarks, built from the catalog's layers and costed
through the same trace as a job's model (`profile.trace_step` on meta tensors).

- ResNet-50 v1.5 (He et al. 2015; v1.5: stride 2 in the 3x3 convolution of each
  down-sampling bottleneck, as NVIDIA DeepLearningExamples trains it): 7x7 stem, batch norm,
  ReLU, 3x3 max pool, bottleneck stages of 3, 4, 6 and 3 blocks (widths 64 to 512, expansion
  4, a 1x1 projection on the first block of each stage), global average pool, 1000-way
  classifier. 25.6 M parameters; 4.1 G multiply-adds per 224x224 image forward.
- BERT-Large (Devlin et al. 2018): 24 post-norm encoder layers of width 1024, 16 heads,
  4096-wide GELU MLP; word (30522 padded to 30528, as DeepLearningExamples pads the vocabulary
  to a multiple of 8), position (512) and token-type tables; the masked-LM head (dense, GELU,
  layer norm, decoder tied to the word table) on the masked positions only. Dropout and the
  next-sentence head (one 1024x1024 dense on the first token, then 2 logits) are left out:
  the former is fused into neighbouring kernels by the benchmark, the latter is < 0.1 % of
  the FLOPs.

`published_step_profile` returns one optimizer step's kernels (`accumulation` micro-batches
forward and backward, then one update) and the gradient bytes all-reduced once per step.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

from dojo_runtime.catalog.layers import (
    BatchNorm2d,
    Conv2d,
    Embedding,
    LayerNorm,
    Linear,
    NumericsModule,
    Positions,
    init_model,
)
from dojo_runtime.catalog.numerics_api import Numerics
from dojo_runtime.catalog.profile import optimizer_kernel, trace_step
from dojo_runtime.formats import FP32
from dojo_runtime.kernels import KernelCall
from dojo_runtime.ops import Numerics as OpsNumerics
from dojo_runtime.ops import NumericsPolicy, make_policy
from dojo_runtime.ops.costs import PER_ELEMENT_FLOPS

RESNET50_STAGES = ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2))  # width, blocks, stride
EXPANSION = 4
BERT_VOCAB_PADDED = 30528


class Bottleneck(NumericsModule):
    """1x1 reduce, 3x3 (carrying the stride: v1.5), 1x1 expand, each with batch norm; ReLU
    after the first two and after the residual add."""

    def __init__(self, nx: Numerics, c_in: int, width: int, stride: int) -> None:
        super().__init__(nx)
        c_out = width * EXPANSION
        self.conv1 = Conv2d(nx, c_in, width, 1, bias=False)
        self.bn1 = BatchNorm2d(nx, width)
        self.conv2 = Conv2d(nx, width, width, 3, stride=stride, padding=1, bias=False)
        self.bn2 = BatchNorm2d(nx, width)
        self.conv3 = Conv2d(nx, width, c_out, 1, bias=False)
        self.bn3 = BatchNorm2d(nx, c_out)
        self.project: nn.ModuleList | None = None
        if stride != 1 or c_in != c_out:
            self.project = nn.ModuleList(
                [Conv2d(nx, c_in, c_out, 1, stride=stride, bias=False), BatchNorm2d(nx, c_out)]
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nx = self.nx
        h = nx.relu(self.bn1(self.conv1(x)))
        h = nx.relu(self.bn2(self.conv2(h)))
        h = self.bn3(self.conv3(h))
        skip = x
        if self.project is not None:
            conv, norm = self.project
            skip = norm(conv(x))
        return nx.relu(nx.add(h, skip))


class ResNet50(NumericsModule):
    def __init__(self, nx: Numerics, classes: int = 1000) -> None:
        super().__init__(nx)
        self.stem = Conv2d(nx, 3, 64, 7, stride=2, padding=3, bias=False)
        self.stem_bn = BatchNorm2d(nx, 64)
        blocks: list[Bottleneck] = []
        c_in = 64
        for width, count, stride in RESNET50_STAGES:
            for i in range(count):
                blocks.append(Bottleneck(nx, c_in, width, stride if i == 0 else 1))
                c_in = width * EXPANSION
        self.blocks = nn.ModuleList(blocks)
        self.head = Linear(nx, c_in, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nx = self.nx
        x = nx.max_pool2d(nx.relu(self.stem_bn(self.stem(x))), 3, 2, 1)
        for block in self.blocks:
            x = block(x)
        return self.head(nx.global_avg_pool(x))


class BertSelfAttention(NumericsModule):
    def __init__(self, nx: Numerics, dim: int, heads: int) -> None:
        super().__init__(nx)
        self.heads = heads
        self.qkv = Linear(nx, dim, 3 * dim)
        self.out = Linear(nx, dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        qkv = self.qkv(x).reshape(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        y = self.nx.attention(qkv[0], qkv[1], qkv[2], causal=False)
        return self.out(y.transpose(1, 2).reshape(b, t, d))


class BertLayer(NumericsModule):
    """Post-norm: x = norm(x + attn(x)); x = norm(x + mlp(x))."""

    def __init__(self, nx: Numerics, dim: int, heads: int) -> None:
        super().__init__(nx)
        self.attn = BertSelfAttention(nx, dim, heads)
        self.norm1 = LayerNorm(nx, (dim,))
        self.up = Linear(nx, dim, 4 * dim)
        self.down = Linear(nx, 4 * dim, dim)
        self.norm2 = LayerNorm(nx, (dim,))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nx = self.nx
        x = self.norm1(nx.add(x, self.attn(x)))
        return self.norm2(nx.add(x, self.down(nx.gelu(self.up(x)))))


class BertPretraining(NumericsModule):
    """Token ids (B, T) -> masked-LM logits (B, masked, vocab)."""

    def __init__(
        self, nx: Numerics, *, layers: int, dim: int, heads: int, seq_len: int, masked: int
    ) -> None:
        super().__init__(nx)
        self.masked = masked
        self.words = Embedding(nx, BERT_VOCAB_PADDED, dim)
        self.positions = Positions(nx, seq_len, dim)
        self.types = Embedding(nx, 2, dim)
        self.norm = LayerNorm(nx, (dim,))
        self.layers = nn.ModuleList(BertLayer(nx, dim, heads) for _ in range(layers))
        self.transform = Linear(nx, dim, dim)
        self.head_norm = LayerNorm(nx, (dim,))
        self.decoder_bias = nn.Parameter(torch.empty(BERT_VOCAB_PADDED))

    def init_weights(self, g: torch.Generator) -> None:
        with torch.no_grad():
            self.decoder_bias.zero_()

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        nx = self.nx
        x = nx.add(self.positions(self.words(idx)), self.types(torch.zeros_like(idx)))
        x = self.norm(x)
        for layer in self.layers:
            x = layer(x)
        picked = x[:, : self.masked]  # the gathered masked positions (shape, not values)
        h = self.head_norm(nx.gelu(self.transform(picked)))
        return nx.linear(h, self.words.weight, self.decoder_bias)  # tied decoder


@dataclass(frozen=True)
class PublishedWorkload:
    """One published training configuration: the network, its input and its step."""

    name: str
    network: str  # "resnet50" | "bert-large"
    batch_per_device: int  # micro-batch per GPU
    accumulation: int = 1  # micro-batches per optimizer step (and per all-reduce)
    optimizer: str = "sgd"  # the update the cost model charges ("sgd" | "adam" | "lamb")
    seq_len: int = 128
    masked: int = 20

    def build(self, nx: Numerics) -> NumericsModule:
        if self.network == "resnet50":
            return ResNet50(nx)
        return BertPretraining(
            nx, layers=24, dim=1024, heads=16, seq_len=self.seq_len, masked=self.masked
        )

    def sample(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.network == "resnet50":
            x = torch.zeros(batch, 3, 224, 224, device="meta")
            return x, torch.zeros(batch, dtype=torch.long, device="meta")
        ids = torch.zeros(batch, self.seq_len, dtype=torch.long, device="meta")
        return ids, torch.zeros(batch, self.masked, dtype=torch.long, device="meta")


def amp_policy() -> NumericsPolicy:
    """PyTorch automatic mixed precision: 16-bit activations and matrix math on the
    16-bit tensor rate, FP32 weights' gradients (AMP keeps parameters and their gradients in
    FP32; the all-reduce moves 4 bytes a parameter)."""
    return dataclasses.replace(make_policy("bf16", gradient_format=FP32), name="amp")


def tf32_policy() -> NumericsPolicy:
    """FP32 storage, matrix math on the TF32 tensor rate (PyTorch's default for cuDNN
    convolutions on Ampere; where a GPU has no TF32 the target runs it at FP32)."""
    return dataclasses.replace(make_policy("fp32"), cost_precision="tf32")


def policy_for(precision: str) -> NumericsPolicy:
    """ "amp" | "tf32" | a preset name (make_policy)."""
    if precision == "amp":
        return amp_policy()
    if precision == "tf32":
        return tf32_policy()
    return make_policy(precision)


def parameter_count(workload: PublishedWorkload) -> int:
    with torch.device("meta"):
        model = workload.build(OpsNumerics("fp32"))
    return sum(p.numel() for p in model.parameters())


# Optimizer update per parameter beyond OPTIMIZER_COST's: LAMB (You et al. 2019) is Adam's
# update plus a per-layer trust ratio, i.e. norms of the weight and of the update (2 more
# reads and 4 more FLOPs a parameter).
LAMB_EXTRA = (4.0, 2.0, 0.0)


def published_step_profile(
    workload: PublishedWorkload, precision: str
) -> tuple[list[KernelCall], float]:
    """Kernels of one optimizer step of `workload` per device, and its gradient bytes."""
    policy = policy_for(precision)
    calls: list[KernelCall] = []
    tracing = dataclasses.replace(policy, name="fp32", rounding={})
    nx = OpsNumerics(tracing, on_kernel=calls.append)
    with torch.device("meta"):
        model = workload.build(nx)
    x, y = workload.sample(workload.batch_per_device)
    trace_step(model, x, y, nx, calls)
    micro = list(calls)
    step = micro * workload.accumulation
    n_params = sum(p.numel() for p in model.parameters())
    step.append(_update(workload.optimizer, n_params))
    return step, float(n_params * policy.fmt("gradient").storage_bytes)


def published_inference_profile(workload: PublishedWorkload, precision: str) -> list[KernelCall]:
    """Kernels of one inference pass of `workload` (a batch of `batch_per_device`): the
    forward kernels of the training trace, no loss, batch norm in eval mode. Eval-mode batch
    norm applies the running statistics, a per-channel multiply-add: the input is read once
    (not twice, as for the batch's statistics) and 2 FLOPs an element (not 8)."""
    if workload.network != "resnet50":
        raise ValueError(f"no inference profile for {workload.network!r} (only resnet50)")
    policy = policy_for(precision)
    calls: list[KernelCall] = []
    tracing = dataclasses.replace(policy, name="fp32", rounding={})
    nx = OpsNumerics(tracing, on_kernel=calls.append)
    with torch.device("meta"):
        model = workload.build(nx)
    x, _ = workload.sample(workload.batch_per_device)
    with torch.no_grad():
        model(x)
    return [_eval_norm(c) if c.kind == "norm" else c for c in calls]


def _eval_norm(call: KernelCall) -> KernelCall:
    elements = call.flops / PER_ELEMENT_FLOPS["norm"]
    return dataclasses.replace(call, flops=2.0 * elements, bytes_read=call.bytes_written)


def _update(optimizer: str, n_params: int) -> KernelCall:
    base = optimizer_kernel("adam" if optimizer == "lamb" else optimizer, n_params)
    if optimizer != "lamb":
        return base
    flops, reads, _ = LAMB_EXTRA
    return dataclasses.replace(
        base,
        flops=base.flops + flops * n_params,
        bytes_read=base.bytes_read + reads * n_params * 4,
    )


def initialised(workload: PublishedWorkload, nx: Numerics, seed: int = 0) -> NumericsModule:
    """The network on the CPU with real weights (the memory measurement trains it)."""
    model = workload.build(nx)
    init_model(model, seed)
    return model
