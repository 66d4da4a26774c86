"""`task: regression`: an .npz whose y holds float32 targets ([N] or [N, k]) trains an
uploaded ONNX model by mean squared error; the data's kind and the task must agree, and a
catalog architecture refuses such data naming dataset.name."""

from __future__ import annotations

import hashlib
import io
import math

import numpy as np
import pytest
import torch
from torch import nn

from dojo_runtime import catalog
from dojo_runtime.catalog.imported import fit_errors
from dojo_runtime.config import CustomData, TrainConfig
from dojo_runtime.data import REGRESSION, describe, npz
from dojo_runtime.failures import UnsupportedModel
from dojo_runtime.training import Trainer
from tests.support.onnx_models import custom, export

DATASET = "organizations/a/datasets/r"


def _targets(n: int = 240, k: int | None = 2) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 6)).astype(np.float32)
    w = rng.normal(size=(6, k or 1)).astype(np.float32)
    y = (x @ w).astype(np.float32)  # a linear map: an MLP fits it closely
    return x, (y if k is not None else y[:, 0])


def _upload(x: np.ndarray, y: np.ndarray) -> tuple[bytes, CustomData]:
    buf = io.BytesIO()
    np.savez(buf, x=x, y=y)
    payload = buf.getvalue()
    s = npz.inspect(payload, max_decoded_bytes=1 << 24)
    meta = CustomData(
        "npz",
        s.sample_shape,
        s.num_classes,
        s.samples,
        hashlib.sha256(payload).hexdigest(),
        targets=s.targets,
    )
    return payload, meta


class Regressor(nn.Module):
    def __init__(self, k: int) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(6, 32), nn.Linear(32, k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(x)))


def _config(meta: CustomData, k: int, task: str = "regression", **kw: object) -> TrainConfig:
    torch.manual_seed(0)
    model = custom(export(Regressor(k), torch.randn(2, 6)), task)
    return TrainConfig(
        "onnx",
        dataset=DATASET,
        dataset_meta=meta,
        custom_model=model,
        batch_size=24,
        learning_rate=1e-2,
        **kw,  # type: ignore[arg-type]
    )


def test_float_targets_are_recorded_not_refused() -> None:
    s = npz.inspect(_upload(*_targets(k=3))[0], max_decoded_bytes=1 << 24)
    assert (s.targets, s.num_classes, s.class_counts) == (3, 3, ())
    s = npz.inspect(_upload(*_targets(k=None))[0], max_decoded_bytes=1 << 24)
    assert (s.targets, s.num_classes) == (1, 1)
    x, y = _targets(n=10)
    labels = _upload(x, np.arange(10) % 2)[1]
    assert labels.targets == 0


@pytest.mark.parametrize(
    ("y", "message"),
    [
        (np.zeros((40, 2, 2), np.float32), r"y: shape \(40, 2, 2\); expected \(N,\) or \(N, k\)"),
        (np.zeros(40), "y: dtype is float64; expected int64 class labels"),
        (np.full(40, np.nan, np.float32), "y contains NaN"),
        (np.zeros(39, np.float32), "x has 40 samples but y has 39 targets"),
        (np.zeros((40, 2), np.int64), r"y: shape \(40, 2\); expected \(N,\), one label"),
    ],
)
def test_bad_targets_are_refused_naming_y(y: np.ndarray, message: str) -> None:
    buf = io.BytesIO()
    np.savez(buf, x=np.zeros((40, 6), np.float32), y=y)
    with pytest.raises(npz.NpzError, match=message):
        npz.inspect(buf.getvalue(), max_decoded_bytes=1 << 24)


@pytest.mark.parametrize("k", [2, None])
@pytest.mark.parametrize("precision", ["fp32", "cfp8"])
def test_an_onnx_regressor_trains_by_mse(k: int | None, precision: str) -> None:
    payload, meta = _upload(*_targets(k=k))
    config = _config(meta, k or 1, precision=precision)
    trainer = Trainer(config, payload=payload)
    assert trainer.info.task == REGRESSION
    steps: list[float | None] = []
    state = trainer.initial_state()
    before = trainer.evaluate(state)
    state = trainer.train(state, 120, on_step=lambda m: steps.append(m.accuracy))
    after = trainer.evaluate(state)
    assert set(steps) == {None}  # no accuracy for a regression
    assert math.isnan(after["accuracy"]) and after["samples"] == trainer.info.eval_size
    assert after["loss"] < 0.2 * before["loss"]
    # The loss is the held-out MSE itself.
    x, y = trainer.data.eval_batches().__next__()
    with torch.no_grad():
        state.model.eval()
        mse = float(((state.model(x).reshape(len(y), -1) - y.reshape(len(y), -1)) ** 2).mean())
    if precision == "fp32":
        assert after["loss"] == pytest.approx(mse, rel=1e-4)


def test_the_task_must_suit_the_data() -> None:
    _, targets = _upload(*_targets(k=2))
    errors = fit_errors(_config(targets, 2, task="classification"), describe(DATASET, targets))
    assert errors[0][0] == "model.task"
    assert "holds float32 targets y" in errors[0][1] and "regression" in errors[0][1]
    x, _ = _targets(n=60)
    _, labels = _upload(x, (np.arange(60) % 2).astype(np.int64))
    errors = fit_errors(_config(labels, 2), describe(DATASET, labels))
    assert errors[0][0] == "model.task" and "int64 class labels" in errors[0][1]


def test_the_output_width_must_be_the_targets() -> None:
    _, meta = _upload(*_targets(k=3))
    (field, message), *_ = fit_errors(_config(meta, 2), describe(DATASET, meta))
    assert field == "model.onnx" and "['batch', 3]" in message


def test_a_catalog_architecture_refuses_float_targets_naming_the_dataset() -> None:
    payload, meta = _upload(*_targets(k=2))
    config = TrainConfig("mlp", {"hidden": 16}, DATASET, meta)
    with pytest.raises(UnsupportedModel, match="dataset.name: holds float32 targets"):
        Trainer(config, payload=payload)


def test_a_regression_step_is_costed() -> None:
    _, meta = _upload(*_targets(k=2))
    kernels, _ = catalog.step_profile(_config(meta, 2, precision="cfp8"))
    assert any(k.kind == "loss" for k in kernels)
