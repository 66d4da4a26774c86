"""Model catalog: validation, every model trains, and step_profile agrees with the ops."""

from __future__ import annotations

from collections import Counter

import pytest
import torch

from dojo_runtime.catalog import (
    ARCHITECTURES,
    build_model,
    data_info_for,
    parameter_count,
    step_profile,
    validate_params,
)
from dojo_runtime.catalog.samples import sample_models
from dojo_runtime.config import TrainConfig
from dojo_runtime.kernels import KernelCall
from dojo_runtime.ops import get_numerics
from dojo_runtime.training import Trainer

# A small size of every architecture on a dataset it accepts.
SMALL = sample_models(d_model=32, layers=1, heads=2, context=16, mlp_hidden=32)


def _config(arch: str, precision: str = "fp32", batch_size: int = 8) -> TrainConfig:
    params, dataset = SMALL[arch]
    return TrainConfig(
        arch,
        params,
        dataset,
        batch_size=batch_size,
        precision=precision,
        learning_rate=3e-3,
        seed=11,
    )


def test_catalog_covers_the_five_architectures_with_datasets() -> None:
    assert set(ARCHITECTURES) == {"mlp", "cnn", "gpt", "vit", "video"}
    for info in ARCHITECTURES.values():
        assert info.datasets
        for spec in info.params.values():
            assert spec.minimum <= spec.default <= spec.maximum


@pytest.mark.parametrize(
    ("arch", "params", "dataset", "expected"),
    [
        ("mlp", {"hidden": 64}, "digits", []),
        ("rnn", {}, "digits", [("model.architecture", "unknown architecture")]),
        ("mlp", {"width": 3}, "digits", [("model.params.width", "no parameter 'width'")]),
        ("mlp", {"hidden": 0}, "digits", [("model.params.hidden", "between 8 and 8192")]),
        ("gpt", {}, "digits", [("dataset.name", "does not train on 'digits'")]),
        ("mlp", {}, "imagenet", [("dataset.name", "unknown dataset")]),
        (
            "gpt",
            {"d_model": 96, "heads": 5},
            "tiny-shakespeare",
            [("model.params.heads", "do not divide")],
        ),
        ("vit", {"patch": 3}, "digits", [("model.params.patch", "does not divide the 8x8")]),
        (
            "cnn",
            {"channels": 2, "blocks": 99},
            "digits",
            [("model.params.channels", "between"), ("model.params.blocks", "between")],
        ),
    ],
)
def test_validate_params_names_each_bad_field(
    arch: str, params: dict[str, int], dataset: str, expected: list[tuple[str, str]]
) -> None:
    found = validate_params(arch, params, dataset)
    assert [f for f, _ in found] == [f for f, _ in expected]
    for (_, message), (_, fragment) in zip(found, expected, strict=True):
        assert fragment in message


@pytest.mark.parametrize("arch", sorted(SMALL))
def test_every_model_builds_and_trains_a_few_steps(arch: str) -> None:
    trainer = Trainer(_config(arch))
    state = trainer.initial_state()
    before = [p.detach().clone() for p in state.model.parameters()]
    losses: list[float] = []
    state = trainer.train(state, 4, on_step=lambda m: losses.append(m.loss))
    assert state.step == 4 and len(losses) == 4
    assert all(torch.isfinite(torch.tensor(losses)))
    changed = [not torch.equal(b, p) for b, p in zip(before, state.model.parameters(), strict=True)]
    assert all(changed), "every parameter receives a gradient"
    assert sum(p.numel() for p in state.model.parameters()) == parameter_count(trainer.config)
    assert trainer.step_seconds > 0


def _reported_kernels(config: TrainConfig) -> list[KernelCall]:
    """What the real ops report during one forward/backward of the model."""
    calls: list[KernelCall] = []
    nx = get_numerics(config.precision, seed=1, on_kernel=calls.append)
    info = data_info_for(config)
    model = build_model(config, nx, info)
    trainer = Trainer(config)
    x, y = trainer.data.next_batch()
    nx.cross_entropy(model(x).flatten(0, -2), y.flatten()).backward()
    return calls


def _summary(calls: list[KernelCall]) -> Counter[tuple[str, str, str, float, float, float]]:
    return Counter(
        (c.kind, c.phase, c.precision, round(c.flops), round(c.bytes_read), round(c.bytes_written))
        for c in calls
    )


@pytest.mark.parametrize(
    ("arch", "precision"),
    [(a, "fp32") for a in sorted(SMALL)] + [("gpt", "bf16"), ("cnn", "cfp8"), ("video", "bf16")],
)
def test_step_profile_matches_what_the_ops_report(arch: str, precision: str) -> None:
    config = _config(arch, precision)
    profiled, grad_bytes = step_profile(config)
    compute = [c for c in profiled if c.phase != "optimizer"]
    assert _summary(compute) == _summary(_reported_kernels(config))
    (update,) = [c for c in profiled if c.phase == "optimizer"]
    n_params = parameter_count(config)
    assert update.flops > 0 and update.bytes_read >= 4 * n_params
    width = {"fp32": 4, "bf16": 2, "cfp8": 1}[precision]
    assert grad_bytes == n_params * width


def test_step_profile_scales_with_batch_and_is_cheap_for_huge_models() -> None:
    small = sum(
        c.flops for c in step_profile(_config("gpt", batch_size=8))[0] if c.phase != "optimizer"
    )
    large = sum(
        c.flops for c in step_profile(_config("gpt", batch_size=16))[0] if c.phase != "optimizer"
    )
    assert large == pytest.approx(2 * small, rel=1e-9)
    # A 1.3B-parameter GPT is profiled on meta tensors, never allocated.
    big = TrainConfig(
        "gpt",
        {"d_model": 2048, "layers": 24, "heads": 16, "context": 1024},
        "synthetic-text",
        batch_size=8,
        precision="bf16",
    )
    kernels, grad_bytes = step_profile(big)
    n = parameter_count(big)
    assert 1.2e9 < n < 1.5e9 and grad_bytes == 2 * n
    tokens = 8 * 1024
    model_flops = sum(c.flops for c in kernels if c.phase != "optimizer")
    assert 6 * n * tokens < model_flops < 8 * n * tokens  # 6ND plus attention
