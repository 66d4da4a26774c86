"""The Trainer's contract with the platform: field-named errors, metrics, evaluation."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest

from dojo_runtime.config import CustomData, StepMetrics, TrainConfig
from dojo_runtime.data import npz
from dojo_runtime.training import Trainer


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"architecture": "lstm"}, "model.architecture"),
        ({"model_params": {"hidden": 100_000}}, "model.params.hidden"),
        ({"dataset": "cifar"}, "dataset.name"),
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


def _npz(x: np.ndarray, y: np.ndarray) -> tuple[bytes, CustomData]:
    buffer = io.BytesIO()
    np.savez(buffer, x=x.astype(np.float32), y=y.astype(np.int64))
    payload = buffer.getvalue()
    meta = CustomData(
        "npz",
        npz.sample_shape(x.shape),
        int(y.max()) + 1,
        len(y),
        hashlib.sha256(payload).hexdigest(),
    )
    return payload, meta


def test_trains_on_uploaded_npz_bytes() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    x = rng.normal(size=(200, 5)) + 3.0 * y[:, None]  # linearly separable classes
    payload, meta = _npz(x, y)
    config = TrainConfig(
        "mlp", {"hidden": 16}, "organizations/a/datasets/d", meta, batch_size=20, learning_rate=1e-2
    )
    trainer = Trainer(config, payload=payload)
    state = trainer.train(trainer.initial_state(), 40)
    assert trainer.evaluate(state)["accuracy"] > 0.9


def test_uploaded_bytes_must_match_their_digest() -> None:
    payload, meta = _npz(np.zeros((20, 5)), np.zeros(20))
    config = TrainConfig("mlp", dataset="organizations/a/datasets/d", dataset_meta=meta)
    with pytest.raises(ValueError, match="sha256"):
        Trainer(config, payload=payload + b"x")
    with pytest.raises(ValueError, match="needs its bytes"):
        Trainer(config)


def test_trains_a_language_model_on_uploaded_text() -> None:
    payload = ("the quick brown fox jumps over the lazy dog. " * 60).encode()
    meta = CustomData("text", (), 256, len(payload), hashlib.sha256(payload).hexdigest())
    config = TrainConfig(
        "gpt",
        {"context": 16, "d_model": 32, "layers": 1, "heads": 2},
        "organizations/a/datasets/t",
        meta,
        batch_size=8,
        learning_rate=3e-3,
    )
    trainer = Trainer(config, payload=payload)
    before = trainer.evaluate(trainer.initial_state())["loss"]
    after = trainer.evaluate(trainer.train(trainer.initial_state(), 30))["loss"]
    assert after < before


def test_cnn_refuses_flat_npz_features() -> None:
    payload, meta = _npz(np.zeros((20, 5)), np.zeros(20))
    with pytest.raises(ValueError, match=r"^dataset\.name: cnn needs images"):
        Trainer(
            TrainConfig(
                "cnn", dataset="organizations/a/datasets/d", dataset_meta=meta, batch_size=4
            ),
            payload=payload,
        )
