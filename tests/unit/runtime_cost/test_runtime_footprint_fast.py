"""The footprint's fast ops (dojo_runtime.catalog.footprint) keep for backward exactly what
torch's own ops keep: op by op, and summed over every catalog architecture and an imported
ONNX model, at batches 1 and 2 (what the memory model's per-sample figure is made of)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from benchmarks.memory_peaks import CASES
from dojo_runtime.catalog import footprint
from dojo_runtime.catalog.numerics_api import PlainTorchNumerics
from dojo_runtime.config import TrainConfig
from tests.support.onnx_models import MLP, custom, export


class TorchOps(PlainTorchNumerics):
    """torch's own ops throughout, but for attention, which the memory model counts as a
    fused kernel by choice (torch's math path on meta tensors would save the T x T scores)."""

    attention = footprint._FootprintNumerics.attention


def _meta(*shape: int, grad: bool = True) -> torch.Tensor:
    return torch.empty(*shape, device="meta", requires_grad=grad)


def _saved(fn: Callable[[], torch.Tensor], known: dict[int, str]) -> list[tuple[str, int]]:
    """What `fn` saves for backward, each storage once as the footprint counts them:
    (which known storage, or "new"; bytes), sorted."""
    out: dict[int, tuple[str, int]] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        out[storage._cdata] = (known.get(storage._cdata, "new"), storage.nbytes())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        result = fn()
        assert result.device.type == "meta"
    return sorted(out.values())


def _op_cases() -> list[tuple[str, Callable[[PlainTorchNumerics], torch.Tensor], dict]]:  # type: ignore[type-arg]
    w, b = _meta(8, 6), _meta(8)
    g, beta = _meta(5, 6), _meta(5, 6)
    x2, x3 = _meta(5, 6), _meta(2, 5, 6)
    strided = _meta(2, 6, 5).transpose(1, 2)  # not viewable as (10, 6): torch folds a copy
    logits, target = _meta(7, 11), torch.zeros(7, dtype=torch.long, device="meta")
    row = _meta(6)
    names = {
        t.untyped_storage()._cdata: name
        for name, t in {
            "w": w, "b": b, "g": g, "beta": beta, "x2": x2, "x3": x3, "strided": strided,
            "logits": logits, "target": target, "row": row,
        }.items()
    }  # fmt: skip
    return [
        ("linear 2-D", lambda nx: nx.linear(x2, w, b), names),
        ("linear 3-D", lambda nx: nx.linear(x3, w, b), names),
        ("linear 3-D no bias", lambda nx: nx.linear(x3, w), names),
        ("linear strided", lambda nx: nx.linear(strided, w, b), names),
        ("layer norm", lambda nx: nx.layer_norm(x3, (6,), row, row), names),
        ("layer norm 2 dims", lambda nx: nx.layer_norm(x3, (5, 6), g, beta), names),
        ("gelu", lambda nx: nx.gelu(x3), names),
        ("add broadcast", lambda nx: nx.add(x3, row), names),
        ("residual", lambda nx: nx.residual(x3, x3), names),
        ("cross entropy", lambda nx: nx.cross_entropy(logits, target), names),
    ]


@pytest.mark.parametrize("case", _op_cases(), ids=lambda c: c[0])
def test_each_fast_op_saves_what_torchs_op_saves(case) -> None:  # type: ignore[no-untyped-def]
    name, op, names = case
    fast = _saved(lambda: op(footprint._FootprintNumerics()), names)
    torch_ops = _saved(lambda: op(TorchOps()), names)
    assert fast == torch_ops
    assert bool(fast) != name.startswith(("add", "residual"))  # adds alone keep nothing


def test_the_adds_keep_nothing() -> None:
    x, row = _meta(2, 5, 6), _meta(6)
    assert _saved(lambda: footprint._FootprintNumerics().add(x, row), {}) == []
    assert _saved(lambda: x + row, {}) == []


def test_fast_ops_give_the_output_shapes_of_torchs() -> None:
    q, k, v = _meta(2, 4, 16, 8), _meta(2, 4, 16, 8), _meta(2, 4, 16, 8)
    nx = footprint._FootprintNumerics()
    assert nx.attention(q, k, v, causal=True).shape == (2, 4, 16, 8)
    assert nx.linear(_meta(2, 6, 5).transpose(1, 2), _meta(8, 6)).shape == (2, 5, 8)
    assert nx.add(_meta(2, 5, 6), _meta(6)).shape == (2, 5, 6)
    assert (
        nx.cross_entropy(_meta(7, 11), torch.zeros(7, dtype=torch.long, device="meta")).dim() == 0
    )
    with pytest.raises(RuntimeError):  # a mismatch is torch's own error, not a silent shape
        nx.linear(_meta(2, 5), _meta(8, 6))


def _configs() -> list[TrainConfig]:
    onnx_mlp = TrainConfig(
        "onnx", dataset="digits", custom_model=custom(export(MLP(), torch.randn(2, 1, 8, 8)))
    )
    return [c.config for c in CASES] + [onnx_mlp]


@pytest.mark.parametrize("config", _configs(), ids=lambda c: f"{c.architecture}-{c.model_params}")
def test_whole_models_save_what_torchs_ops_save(config: TrainConfig) -> None:
    key = footprint.shape_key(config)
    assert footprint._saved_at(key, (1, 2)) == footprint._saved_at(key, (1, 2), TorchOps)
