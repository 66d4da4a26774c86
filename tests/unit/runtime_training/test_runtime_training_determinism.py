"""Segmented training (restore -> train -> snapshot) equals straight training, bit for bit."""

from __future__ import annotations

import pytest
import torch

from dojo_runtime.config import TrainConfig
from dojo_runtime.training import Trainer, TrainState


def _weights(state: TrainState) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in state.model.state_dict().items()}


def _straight_and_segmented(
    config: TrainConfig, segment: int, segments: int
) -> tuple[TrainState, TrainState, Trainer]:
    total = segment * segments
    straight = Trainer(config)
    a = straight.train(straight.initial_state(), total)
    blob = None
    for k in range(1, segments + 1):
        worker = Trainer(config)  # a fresh worker process each segment, as on the platform
        state = worker.restore(blob) if blob else worker.initial_state()
        state = worker.train(state, k * segment)
        worker.evaluate(state)  # evaluating between segments must not perturb training
        blob = worker.snapshot(state)
    assert blob is not None
    return a, Trainer(config).restore(blob), straight


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["fp32", "bf16", "cfp8"])
def test_three_segments_of_100_equal_300_straight(precision: str) -> None:
    config = TrainConfig(
        "mlp",
        {"hidden": 32, "layers": 2},
        "digits",
        batch_size=32,
        learning_rate=3e-3,
        precision=precision,
        seed=5,
    )
    a, b, _ = _straight_and_segmented(config, 100, 3)
    assert a.step == b.step == 300
    wa, wb = _weights(a), _weights(b)
    assert all(torch.equal(wa[k], wb[k]) for k in wa), "weights differ bitwise"
    assert a.data_position == b.data_position
    assert a.device_seconds == b.device_seconds > 0
    assert a.numerics.state_dict()["trackers"] == b.numerics.state_dict()["trackers"]
    assert torch.equal(a.numerics.state_dict()["generator"], b.numerics.state_dict()["generator"])


@pytest.mark.parametrize(
    ("arch", "params", "dataset", "precision"),
    [
        (
            "gpt",
            {"d_model": 32, "layers": 1, "heads": 2, "context": 16},
            "tiny-shakespeare",
            "cfp8",
        ),
        ("video", {"d_model": 32, "layers": 1, "heads": 2, "patch": 8}, "synthetic-video", "bf16"),
    ],
)
def test_segments_are_exact_for_attention_models(
    arch: str, params: dict[str, int], dataset: str, precision: str
) -> None:
    config = TrainConfig(
        arch, params, dataset, batch_size=4, precision=precision, seed=2, optimizer="adamw"
    )
    a, b, _ = _straight_and_segmented(config, 3, 3)
    wa, wb = _weights(a), _weights(b)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_different_seeds_give_different_weights() -> None:
    base = dict(architecture="mlp", model_params={"hidden": 16, "layers": 1}, batch_size=16)
    a = Trainer(TrainConfig(**base, seed=1))  # type: ignore[arg-type]
    b = Trainer(TrainConfig(**base, seed=2))  # type: ignore[arg-type]
    wa = _weights(a.train(a.initial_state(), 5))
    wb = _weights(b.train(b.initial_state(), 5))
    assert any(not torch.equal(wa[k], wb[k]) for k in wa)


def test_snapshot_of_another_configuration_is_refused() -> None:
    a = Trainer(TrainConfig("mlp", {"hidden": 16}, batch_size=16))
    blob = a.snapshot(a.initial_state())
    b = Trainer(TrainConfig("mlp", {"hidden": 16}, batch_size=16, precision="bf16"))
    with pytest.raises(ValueError, match="checkpoint"):
        b.restore(blob)


def test_should_stop_ends_at_a_step_boundary_and_resumes_exactly() -> None:
    config = TrainConfig("mlp", {"hidden": 16}, batch_size=16, precision="cfp8", seed=3)
    trainer = Trainer(config)
    calls = iter(range(100))
    state = trainer.train(trainer.initial_state(), 10, should_stop=lambda: next(calls) >= 4)
    assert state.step == 4
    resumed = Trainer(config).restore(trainer.snapshot(state))
    resumed = trainer.train(resumed, 10)
    straight = trainer.train(trainer.initial_state(), 10)
    wa, wb = _weights(resumed), _weights(straight)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
