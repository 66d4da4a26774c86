"""Training in Dojo's formats converges like FP32 (the issue's acceptance floor)."""

from __future__ import annotations

import pytest

from dojo_runtime.config import TrainConfig
from dojo_runtime.training import Trainer


def _train(config: TrainConfig, steps: int) -> tuple[dict[str, float], list[float]]:
    trainer = Trainer(config)
    losses: list[float] = []
    state = trainer.train(trainer.initial_state(), steps, on_step=lambda m: losses.append(m.loss))
    return trainer.evaluate(state), losses


@pytest.mark.slow
def test_digits_mlp_in_cfp8_reaches_95_percent_of_fp32_accuracy() -> None:
    def config(precision: str) -> TrainConfig:
        return TrainConfig(
            "mlp",
            {"hidden": 64, "layers": 2},
            "digits",
            batch_size=64,
            learning_rate=3e-3,
            precision=precision,
            seed=7,
        )

    fp32, _ = _train(config("fp32"), 200)
    cfp8, losses = _train(config("cfp8"), 200)
    assert fp32["accuracy"] > 0.9, "the reference itself must have learned"
    assert cfp8["accuracy"] >= 0.95 * fp32["accuracy"]
    assert losses[-1] < losses[0] / 5


@pytest.mark.slow
def test_gpt_in_bf16_ends_within_5_percent_of_fp32_loss() -> None:
    def config(precision: str) -> TrainConfig:
        return TrainConfig(
            "gpt",
            {"d_model": 48, "layers": 2, "heads": 4, "context": 32},
            "tiny-shakespeare",
            batch_size=16,
            learning_rate=3e-3,
            precision=precision,
            seed=7,
        )

    fp32, fp32_losses = _train(config("fp32"), 150)
    bf16, _ = _train(config("bf16"), 150)
    assert fp32["loss"] < 3.0 < fp32_losses[0], "the reference learned (ln 256 = 5.5 at start)"
    assert abs(bf16["loss"] - fp32["loss"]) <= 0.05 * fp32["loss"]
