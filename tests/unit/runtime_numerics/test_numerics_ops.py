"""Operators with emulated numerics: forward close to FP32, outputs stored in the format,
gradients flowing (and rounded) like FP32's, kernel calls reported, state resumable."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F

from dojo_runtime.formats import BF16, CFP8_143, CFP8_152, CFP16_SHP, FloatFormat, quantize
from dojo_runtime.kernels import KernelCall
from dojo_runtime.ops import Numerics, get_numerics

OpCase = Callable[[Numerics, list[torch.Tensor]], torch.Tensor]


def _inputs(seed: int, *shapes: tuple[int, ...]) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=gen).requires_grad_() for s in shapes]


IDX = torch.tensor([[1, 5, 2], [7, 0, 5]])
TARGET = torch.tensor([3, 0, 9, 1])

# name -> (build inputs, call the op, the plain-PyTorch reference)
CASES: dict[str, tuple[Callable[[], list[torch.Tensor]], OpCase, OpCase]] = {
    "linear": (
        lambda: _inputs(1, (6, 32), (16, 32), (16,)),
        lambda n, t: n.linear(*t),
        lambda n, t: F.linear(*t),
    ),
    "matmul": (
        lambda: _inputs(2, (3, 8, 24), (24, 12)),
        lambda n, t: n.matmul(*t),
        lambda n, t: torch.matmul(*t),
    ),
    "conv2d": (
        lambda: _inputs(3, (2, 3, 9, 9), (5, 3, 3, 3), (5,)),
        lambda n, t: n.conv2d(*t, stride=2, padding=1),
        lambda n, t: F.conv2d(*t, stride=2, padding=1),
    ),
    "attention": (
        lambda: _inputs(4, (2, 2, 7, 8), (2, 2, 7, 8), (2, 2, 7, 8)),
        lambda n, t: n.attention(*t, causal=True),
        lambda n, t: F.scaled_dot_product_attention(*t, is_causal=True),
    ),
    "attention_full": (
        lambda: _inputs(5, (1, 3, 5, 4), (1, 3, 6, 4), (1, 3, 6, 4)),
        lambda n, t: n.attention(*t, causal=False),
        lambda n, t: F.scaled_dot_product_attention(*t),
    ),
    "layer_norm": (
        lambda: _inputs(6, (4, 5, 16), (16,), (16,)),
        lambda n, t: n.layer_norm(t[0], (16,), t[1], t[2]),
        lambda n, t: F.layer_norm(t[0], (16,), t[1], t[2]),
    ),
    "softmax": (
        lambda: _inputs(7, (4, 20)),
        lambda n, t: n.softmax(t[0], dim=-1),
        lambda n, t: torch.softmax(t[0], -1),
    ),
    "gelu": (lambda: _inputs(8, (5, 30)), lambda n, t: n.gelu(t[0]), lambda n, t: F.gelu(t[0])),
    "relu": (lambda: _inputs(9, (5, 30)), lambda n, t: n.relu(t[0]), lambda n, t: F.relu(t[0])),
    "batch_norm": (
        lambda: _inputs(12, (4, 3, 5, 5), (3,), (3,)),
        lambda n, t: n.batch_norm(*t),
        lambda n, t: F.batch_norm(t[0], None, None, t[1], t[2], True),
    ),
    "max_pool2d": (
        lambda: _inputs(13, (2, 3, 8, 8)),
        lambda n, t: n.max_pool2d(t[0], 3, 2, 1),
        lambda n, t: F.max_pool2d(t[0], 3, 2, 1),
    ),
    "global_avg_pool": (
        lambda: _inputs(14, (2, 6, 4, 4)),
        lambda n, t: n.global_avg_pool(t[0]),
        lambda n, t: t[0].mean(dim=(2, 3)),
    ),
    "add": (
        lambda: _inputs(15, (3, 16), (3, 16)),
        lambda n, t: n.add(*t),
        lambda n, t: t[0] + t[1],
    ),
    "embedding": (
        lambda: _inputs(10, (8, 6)),
        lambda n, t: n.embedding(IDX, t[0]),
        lambda n, t: F.embedding(IDX, t[0]),
    ),
    "cross_entropy": (
        lambda: _inputs(11, (4, 10)),
        lambda n, t: n.cross_entropy(t[0], TARGET),
        lambda n, t: F.cross_entropy(t[0], TARGET),
    ),
}
# relative L2 error allowed against FP32: (forward, backward); cfp8 gradients are 1-5-2
# (3 significant bits) and stochastically rounded, so their error is the largest.
TOLERANCE = {"bf16": (0.01, 0.015), "cfp16": (0.003, 0.006), "cfp8": (0.08, 0.3)}
STORAGE = {"bf16": BF16, "cfp16": CFP16_SHP, "cfp8": CFP8_143}
GRADIENT = {"bf16": BF16, "cfp16": CFP16_SHP, "cfp8": CFP8_152}


def _rel_err(a: torch.Tensor, ref: torch.Tensor) -> float:
    a, ref = a.detach(), ref.detach()
    return float((a - ref).norm() / ref.norm().clamp(min=1e-12))


def _representable(y: torch.Tensor, fmt: FloatFormat) -> bool:
    """Some single bias holds every element exactly (one bias per stored tensor)."""
    y = y.detach()
    if not fmt.bias_configurable:
        return torch.equal(quantize(y, fmt), y)
    return any(torch.equal(quantize(y, fmt, b), y) for b in range(64))


def _run(precision: str, name: str) -> tuple[torch.Tensor, list[torch.Tensor | None]]:
    build, op, _ = CASES[name]
    inputs = build()
    out = op(get_numerics(precision, seed=0), inputs)
    out.backward(torch.linspace(-1, 1, out.numel()).reshape(out.shape))
    return out, [t.grad for t in inputs]


@pytest.mark.parametrize("name", sorted(CASES))
def test_fp32_numerics_is_plain_pytorch(name: str) -> None:
    build, op, ref = CASES[name]
    inputs = build()
    assert torch.equal(op(Numerics("fp32"), inputs), ref(Numerics("fp32"), inputs))


@pytest.mark.parametrize("precision", ["bf16", "cfp16", "cfp8"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_and_backward_track_fp32_and_stay_in_format(precision: str, name: str) -> None:
    out, grads = _run(precision, name)
    ref_out, ref_grads = _run("fp32", name)
    tol, grad_tol = TOLERANCE[precision]
    assert _rel_err(out, ref_out) < tol
    if name != "cross_entropy":  # the loss itself is kept in FP32
        assert _representable(out, STORAGE[precision])
    for g, ref_g in zip(grads, ref_grads, strict=True):
        assert g is not None and ref_g is not None
        assert _rel_err(g, ref_g) < grad_tol
    # The gradient reaching the first input went through one rounding to the gradient format.
    assert grads[0] is not None and _representable(grads[0], GRADIENT[precision])


def test_cfp8_keeps_separate_biases_for_weights_activations_gradients() -> None:
    n = get_numerics("cfp8", seed=0)
    x, w, b = _inputs(1, (6, 32), (16, 32), (16,))
    n.linear(x * 1000, w * 0.001, b).sum().backward()
    trackers = n.rounder.trackers
    assert set(trackers) == {"weight", "activation", "gradient"}
    assert trackers["weight"].fmt == CFP8_143 and trackers["gradient"].fmt == CFP8_152
    w_max = max(trackers["weight"].running_absmax().values())
    a_max = max(trackers["activation"].running_absmax().values())
    assert w_max < 0.01 < 100 < a_max


def _tiny_step(n: Numerics, w: torch.Tensor) -> torch.Tensor:
    x = torch.linspace(-2, 2, 64).reshape(8, 8)
    loss = n.cross_entropy(n.gelu(n.linear(x, w)), torch.arange(8))
    (grad,) = torch.autograd.grad(loss, w)
    return grad


def test_state_dict_resumes_stochastic_rounding_bit_exactly() -> None:
    w = torch.randn(8, 8, generator=torch.Generator().manual_seed(0)).requires_grad_()
    sr = {"gradient_rounding": "stochastic", "activation_rounding": "stochastic"}
    straight = get_numerics("cfp8", seed=3, **sr)
    _tiny_step(straight, w)
    saved = straight.state_dict()
    expected = _tiny_step(straight, w)
    resumed = get_numerics("cfp8", seed=99, **sr)
    resumed.load_state_dict(saved)
    assert torch.equal(_tiny_step(resumed, w), expected)
    fresh = get_numerics("cfp8", seed=99, **sr)
    assert not torch.equal(_tiny_step(fresh, w), expected)  # the state mattered


def test_kernel_calls_report_forward_and_backward() -> None:
    calls: list[KernelCall] = []
    n = get_numerics("cfp8", on_kernel=calls.append)
    x, w, b = _inputs(1, (6, 32), (16, 32), (16,))
    y = n.linear(x, w, b)
    assert calls == [
        KernelCall(
            "matmul",
            2 * 6 * 32 * 16 + 6 * 16,
            (6 * 32 + 16 * 32) * 1.0,
            6 * 16 * 1.0,
            "forward",
            "cfp8",
        )
    ]
    y.sum().backward()
    assert [c.phase for c in calls] == ["forward", "backward"]
    assert calls[1].flops == 2 * calls[0].flops and calls[1].precision == "cfp8"
    with torch.no_grad():
        n.relu(x)
    assert calls[-1].kind == "elementwise" and len(calls) == 3  # no backward without grad


def test_options_select_formats_and_rounding() -> None:
    n = get_numerics(
        "cfp8",
        gradient_rounding="nearest",
        denormal_scale="printed",
        weight_format=CFP8_152,
        bias_decay=0.0,
    )
    assert n.policy.mode("gradient") == "nearest"
    assert n.policy.fmt("weight").man_bits == 2
    assert n.policy.fmt("activation").denormal_scale == "printed"
    with pytest.raises(ValueError):
        get_numerics("cfp8", no_such_option=1)
    with pytest.raises(ValueError):
        get_numerics("fp64")


def test_emulate_false_reports_the_target_but_computes_fp32_even_on_meta() -> None:
    calls: list[KernelCall] = []
    n = Numerics("cfp8", on_kernel=calls.append, emulate=False)
    x, w = torch.randn(4, 8), torch.randn(3, 8)
    assert torch.equal(n.linear(x, w), F.linear(x, w))
    with torch.no_grad():
        y = n.gelu(n.linear(torch.empty(4, 8, device="meta"), torch.empty(3, 8, device="meta")))
    assert y.is_meta
    assert [(c.kind, c.precision, c.bytes_written) for c in calls] == [
        ("matmul", "cfp8", 12.0),
        ("matmul", "cfp8", 12.0),
        ("elementwise", "cfp8", 12.0),
    ]


def test_empty_and_already_rounded_tensors() -> None:
    n = get_numerics("cfp8")
    assert n.relu(torch.empty(0, 5)).shape == (0, 5)
    y = n.gelu(torch.randn(4, 6))
    assert n.round(y) is y  # stored in the format already: not rounded again
    assert quantize(torch.empty(0), CFP8_143, 3).numel() == 0


def test_views_of_rounded_tensors_are_not_rounded_again() -> None:
    n = get_numerics("cfp8")
    y = n.gelu(torch.randn(4, 6) * 50)
    for view in (y[1:3], y.t(), y.reshape(6, 4), y.split(3, dim=-1)[1]):
        assert n.round(view) is view
    fresh = (torch.randn(4, 6) * 50)[1:3]
    rounded = n.round(fresh)
    assert rounded is not fresh and not torch.equal(rounded, fresh)
