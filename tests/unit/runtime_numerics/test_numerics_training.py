"""Training through the emulated ops: a digits MLP learns in every precision."""

from __future__ import annotations

from functools import cache

import pytest
import torch
from sklearn.datasets import load_digits

from dojo_runtime.formats import CFP8_152, quantize
from dojo_runtime.ops import Numerics, get_numerics


@cache
def _digits() -> tuple[torch.Tensor, torch.Tensor]:
    d = load_digits()
    return torch.tensor(d.data, dtype=torch.float32) / 16.0, torch.tensor(d.target)


@cache
def _fp32_accuracy() -> float:
    return _train_mlp(get_numerics("fp32"))


def _train_mlp(numerics: Numerics, steps: int = 150) -> float:
    """Test accuracy of a 64-64-10 MLP after `steps` Adam steps (seeded)."""
    x, y = _digits()
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    train, test = perm[:1400], perm[1400:]
    torch.manual_seed(0)
    l1, l2 = torch.nn.Linear(64, 64), torch.nn.Linear(64, 10)
    opt = torch.optim.Adam([*l1.parameters(), *l2.parameters()], lr=3e-3)
    gen = torch.Generator().manual_seed(1)
    n = numerics

    def forward(xb: torch.Tensor) -> torch.Tensor:
        return n.linear(n.relu(n.linear(xb, l1.weight, l1.bias)), l2.weight, l2.bias)

    for _ in range(steps):
        idx = train[torch.randint(0, len(train), (64,), generator=gen)]
        loss = n.cross_entropy(forward(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return float((forward(x[test]).argmax(-1) == y[test]).float().mean())


@pytest.mark.parametrize(
    ("precision", "options"),
    [("bf16", {}), ("cfp8", {}), ("cfp8", {"gradient_rounding": "stochastic"})],
)
def test_digits_mlp_reaches_95_percent_of_fp32_accuracy(precision: str, options: dict) -> None:
    reference = _fp32_accuracy()
    assert reference > 0.9
    assert _train_mlp(get_numerics(precision, seed=0, **options)) >= 0.95 * reference


def test_stochastic_gradients_are_unbiased_estimates_and_in_format() -> None:
    """Averaged over seeds, SR-rounded weight gradients approach the FP32 gradient."""
    gen = torch.Generator().manual_seed(0)
    x, w = torch.randn(16, 32, generator=gen), torch.randn(8, 32, generator=gen)
    upstream = torch.randn(16, 8, generator=gen)

    def weight_grad(n: Numerics) -> torch.Tensor:
        wp = w.clone().requires_grad_()
        n.linear(x, wp).backward(upstream)
        assert wp.grad is not None
        return wp.grad

    exact = weight_grad(get_numerics("fp32"))
    grads = [
        weight_grad(get_numerics("cfp8", seed=s, gradient_rounding="stochastic")) for s in range(64)
    ]
    assert any(torch.equal(quantize(grads[0], CFP8_152, b), grads[0]) for b in range(64))
    single = float((grads[0] - exact).norm() / exact.norm())
    averaged = float((torch.stack(grads).mean(0) - exact).norm() / exact.norm())
    assert averaged < single / 2  # errors average out: no systematic bias
