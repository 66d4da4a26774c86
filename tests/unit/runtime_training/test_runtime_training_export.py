"""A trained model as files: safetensors weights equal the snapshot's, and model.onnx run by
onnxruntime matches the platform's FP32 evaluation of the same weights, for every
architecture, also when training ran on emulated bf16 numerics.

Tolerance: logits within 1e-4 absolute + 1e-4 relative (ONNX Runtime's kernels sum in
another order than PyTorch's, so FP32 results differ in the last bits), and the held-out
accuracy computed from ONNX logits equals `Trainer.evaluate`'s on the FP32 model except for
samples whose top two logits are closer than that tolerance."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import onnxruntime as ort
import pytest
import torch
from safetensors.torch import load

from dojo_runtime.catalog.samples import sample_models
from dojo_runtime.config import TrainConfig
from dojo_runtime.export import (
    INPUT_NAME,
    fp32_model,
    load_snapshot,
    onnx_model,
    weights_safetensors,
)
from dojo_runtime.training import Trainer

SMALL = sample_models(d_model=32, layers=1, heads=2, context=16, mlp_hidden=32)
ATOL = RTOL = 1e-4


def _trained(arch: str, precision: str) -> tuple[TrainConfig, bytes]:
    params, dataset = SMALL[arch]
    config = TrainConfig(arch, params, dataset, batch_size=8, precision=precision, seed=5)
    trainer = Trainer(config)
    state = trainer.train(trainer.initial_state(), 3)
    return config, trainer.snapshot(state)


def _session(model: bytes) -> ort.InferenceSession:
    return ort.InferenceSession(model, providers=["CPUExecutionProvider"])


@pytest.mark.parametrize(
    ("arch", "precision"),
    [
        ("mlp", "fp32"),
        ("mlp", "bf16"),
        ("cnn", "fp32"),
        ("gpt", "bf16"),
        ("vit", "fp32"),
        ("video", "fp32"),
    ],
)
def test_onnx_matches_the_fp32_evaluation(arch: str, precision: str) -> None:
    config, blob = _trained(arch, precision)
    session = _session(onnx_model(config, blob))
    model = fp32_model(config, blob)
    evaluator = Trainer(replace(config, precision="fp32"))
    state = evaluator.initial_state()
    state.model.load_state_dict(load_snapshot(blob)["model"])
    platform = evaluator.evaluate(state)
    correct = ambiguous = count = 0
    for x, y in evaluator.data.eval_batches(batch_size=64):
        with torch.no_grad():
            expected = model(x).numpy()
        feed = x.numpy().astype(np.int64 if x.dtype == torch.int64 else np.float32)
        got = session.run(None, {INPUT_NAME: feed})[0]
        np.testing.assert_allclose(got, expected, atol=ATOL, rtol=RTOL)
        flat, target = got.reshape(-1, got.shape[-1]), y.numpy().reshape(-1)
        correct += int((flat.argmax(-1) == target).sum())
        top2 = np.sort(flat, axis=-1)[:, -2:]
        ambiguous += int((top2[:, 1] - top2[:, 0] < ATOL).sum())
        count += len(target)
    assert count == int(platform["samples"])
    assert abs(correct / count - platform["accuracy"]) <= ambiguous / count


def test_safetensors_hold_the_snapshots_named_weights() -> None:
    config, blob = _trained("cnn", "bf16")
    saved = load_snapshot(blob)["model"]
    weights = load(weights_safetensors(blob))
    assert sorted(weights) == sorted(saved)
    assert all(torch.equal(weights[k], saved[k]) for k in saved)


def test_a_non_snapshot_is_refused() -> None:
    buf = io.BytesIO()
    torch.save([1, 2, 3], buf)
    with pytest.raises(ValueError, match="not a training snapshot"):
        load_snapshot(buf.getvalue())
