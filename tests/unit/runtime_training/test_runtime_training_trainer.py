"""The Trainer's contract with the platform: field-named errors, metrics, evaluation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dojo_runtime.config import StepMetrics, TrainConfig
from dojo_runtime.training import Trainer


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"architecture": "lstm"}, "model.architecture"),
        ({"model_params": {"hidden": 100_000}}, "model.params.hidden"),
        ({"dataset": "cifar"}, "dataset.name"),
        ({"dataset": "npz"}, "dataset.uri"),
        ({"precision": "fp64"}, "training.precision"),
        ({"optimizer": "lion"}, "training.optimizer"),
        ({"learning_rate": 0.0}, "training.learning_rate"),
        ({"batch_size": 0}, "training.batch_size"),
        ({"batch_size": 10_000}, "training.batch_size"),
        ({"accelerator": "tpu-v9"}, "resources.accelerators"),
        ({"device_count": 0}, "resources.count"),
        (
            {
                "architecture": "gpt",
                "dataset": "tiny-shakespeare",
                "model_params": {"context": 4096},
            },
            "model.params.context",
        ),
    ],
)
def test_bad_configs_raise_value_error_naming_the_field(
    changes: dict[str, object], field: str
) -> None:
    base: dict[str, object] = {"architecture": "mlp", "batch_size": 16}
    with pytest.raises(ValueError, match="^" + field.replace(".", r"\.") + ":"):
        Trainer(TrainConfig(**{**base, **changes}))  # type: ignore[arg-type]


def test_step_metrics_carry_wall_and_modelled_device_time() -> None:
    config = TrainConfig(
        "mlp",
        {"hidden": 32},
        batch_size=32,
        accelerator="gpu-a100",
        device_count=2,
        precision="bf16",
    )
    trainer = Trainer(config)
    seen: list[StepMetrics] = []
    state = trainer.train(trainer.initial_state(), 3, on_step=seen.append)
    assert [m.step for m in seen] == [1, 2, 3]
    last = seen[-1]
    assert last.device_seconds == pytest.approx(3 * trainer.step_seconds)
    assert state.device_seconds == last.device_seconds
    assert last.modelled_samples_per_second == pytest.approx(32 / trainer.step_seconds)
    assert last.samples_per_second > 0 and last.wall_seconds > 0
    assert last.accuracy is not None and 0.0 <= last.accuracy <= 1.0
    assert trainer.step_breakdown.total_s == pytest.approx(trainer.step_seconds)


def test_more_tiles_model_a_different_step_time() -> None:
    def step(count: int) -> float:
        return Trainer(TrainConfig("mlp", batch_size=32, device_count=count)).step_seconds

    one, six = step(1), step(6)
    assert one > 0 and six > 0 and one != six


def test_evaluate_reports_held_out_loss_and_accuracy_that_improve() -> None:
    trainer = Trainer(TrainConfig("mlp", {"hidden": 32}, batch_size=64, learning_rate=3e-3))
    state = trainer.initial_state()
    before = trainer.evaluate(state)
    after = trainer.evaluate(trainer.train(state, 60))
    assert before["samples"] == after["samples"] == trainer.info.eval_size
    assert after["loss"] < before["loss"] and after["accuracy"] > max(before["accuracy"], 0.7)


def test_trains_on_customer_npz_arrays(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    x = rng.normal(size=(200, 5)) + 3.0 * y[:, None]  # linearly separable classes
    uri = tmp_path / "customer.npz"
    np.savez(uri, x=x, y=y)
    trainer = Trainer(
        TrainConfig("mlp", {"hidden": 16}, "npz", str(uri), batch_size=20, learning_rate=1e-2)
    )
    state = trainer.train(trainer.initial_state(), 40)
    assert trainer.evaluate(state)["accuracy"] > 0.9


def test_cnn_refuses_flat_npz_features(tmp_path: Path) -> None:
    uri = tmp_path / "flat.npz"
    np.savez(uri, x=np.zeros((20, 5)), y=np.zeros(20, dtype=int))
    with pytest.raises(ValueError, match=r"^dataset\.uri: cnn needs images"):
        Trainer(TrainConfig("cnn", dataset="npz", dataset_uri=str(uri), batch_size=4))
