"""Cost of emulated Dojo numerics on the CPU.

* emulation_overhead_bf16 / _cfp8: time of one training step (forward, backward, Adam) of a
  small MLP and a small transformer block stack with emulated numerics, over the same model in
  plain FP32 PyTorch, measured in the same run (interleaved, median of repeats); the
  reported overhead is the geometric mean over the two models.
* quantize_throughput: elements/s of CFP8 (1-4-3) round-to-nearest quantization, against a
  plain `tensor.to(torch.bfloat16)` cast as baseline; ratio = ours / baseline.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch
from torch import nn

from benchmarks.report import bench
from dojo_runtime.formats import CFP8_143, quantize
from dojo_runtime.ops import Numerics, get_numerics


class _MLP(nn.Module):
    def __init__(self, numerics: Numerics, sizes: tuple[int, ...]) -> None:
        super().__init__()
        self.n = numerics
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:], strict=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = self.n.linear(x, layer.weight, layer.bias)
            if i < len(self.layers) - 1:
                x = self.n.relu(x)
        return x


class _Block(nn.Module):
    def __init__(self, numerics: Numerics, d: int, heads: int) -> None:
        super().__init__()
        self.n, self.heads = numerics, heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc1, self.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, (b, t, d) = self.n, x.shape
        h = n.layer_norm(x, (d,), self.ln1.weight, self.ln1.bias)
        q, k, v = n.linear(h, self.qkv.weight, self.qkv.bias).split(d, dim=-1)
        q, k, v = (z.reshape(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        a = n.attention(q, k, v, causal=True).transpose(1, 2).reshape(b, t, d)
        x = x + n.linear(a, self.proj.weight, self.proj.bias)
        h = n.layer_norm(x, (d,), self.ln2.weight, self.ln2.bias)
        h = n.gelu(n.linear(h, self.fc1.weight, self.fc1.bias))
        return x + n.linear(h, self.fc2.weight, self.fc2.bias)


class _Transformer(nn.Module):
    def __init__(self, numerics: Numerics, vocab: int = 256, d: int = 128, layers: int = 2) -> None:
        super().__init__()
        self.n = numerics
        self.embed = nn.Embedding(vocab, d)
        self.blocks = nn.ModuleList(_Block(numerics, d, heads=4) for _ in range(layers))
        self.head = nn.Linear(d, vocab)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.n.embedding(idx, self.embed.weight)
        for block in self.blocks:
            x = block(x)
        return self.n.linear(x, self.head.weight, self.head.bias)


def _step_fn(precision: str, model_kind: str) -> Callable[[], None]:
    torch.manual_seed(0)
    numerics = get_numerics(precision, seed=0)
    gen = torch.Generator().manual_seed(0)
    model: nn.Module
    if model_kind == "mlp":
        model = _MLP(numerics, (784, 1024, 1024, 10))
        x, y = torch.randn(256, 784, generator=gen), torch.randint(0, 10, (256,), generator=gen)
    else:
        model = _Transformer(numerics)
        x = torch.randint(0, 256, (16, 64), generator=gen)
        y = torch.randint(0, 256, (16 * 64,), generator=gen)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step() -> None:
        logits = model(x)
        loss = numerics.cross_entropy(logits.reshape(-1, logits.shape[-1]), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def _interleaved_medians(fns: dict[str, Callable[[], None]], repeats: int) -> dict[str, float]:
    for fn in fns.values():  # warm-up
        fn()
        fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    names = list(fns)
    for r in range(repeats):
        # Rotate the order so no variant always runs right after the same other one.
        for name in names[r % len(names) :] + names[: r % len(names)]:
            t0 = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def _overheads(repeats: int = 21) -> None:
    ratios: dict[str, list[float]] = {"bf16": [], "cfp8": []}
    for kind in ("mlp", "transformer"):
        fns = {p: _step_fn(p, kind) for p in ("fp32", "bf16", "cfp8")}
        med = _interleaved_medians(fns, repeats)
        for p in ("bf16", "cfp8"):
            ratios[p].append(med[p] / med["fp32"])
            bench(f"step_time_{kind}_{p}", med[p] * 1e3, "ms", baseline=med["fp32"] * 1e3)
    for p, target in (("bf16", 1.5), ("cfp8", 2.5)):
        geo = (ratios[p][0] * ratios[p][1]) ** 0.5
        bench(
            f"emulation_overhead_{p}",
            geo,
            "x",
            baseline=1.0,
            ratio=geo,
            target=target,
            models=["mlp", "transformer"],
        )


def _quantize_throughput(numel: int = 1 << 22, repeats: int = 20) -> None:
    x = torch.randn(numel, generator=torch.Generator().manual_seed(0)) * 3.0
    fns = {
        "cfp8": lambda: quantize(x, CFP8_143, 7),
        "bf16_cast": lambda: x.to(torch.bfloat16),
    }
    med = _interleaved_medians(fns, repeats)
    ours, base = numel / med["cfp8"], numel / med["bf16_cast"]
    bench(
        "quantize_throughput",
        ours,
        "elements/s",
        baseline=base,
        ratio=ours / base,
        threads=torch.get_num_threads(),
    )


def main() -> None:
    # One intra-op thread for both sides: on a shared 2-core machine, thread spin-waits
    # dominate otherwise and the ratios become noise. Both sides run the same way.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        _quantize_throughput()
        _overheads()
    finally:
        torch.set_num_threads(before)


if __name__ == "__main__":
    main()
