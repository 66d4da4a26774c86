"""A job on an uploaded ONNX model takes its trained model out as the catalog's jobs do:
weights.safetensors holds the trained parameters, and model.onnx (the imported graph
exported again with those weights) run by onnxruntime matches the platform's FP32
evaluation within the catalog export's tolerance (1e-4 absolute + 1e-4 relative), also when
training ran in cfp8 and the graph has batch norm."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import onnxruntime as ort
import pytest
import torch
from safetensors.torch import load

from dojo_runtime.config import TrainConfig
from dojo_runtime.export import fp32_model, load_snapshot, onnx_model, weights_safetensors
from dojo_runtime.training import Trainer
from tests.support.onnx_models import MLP, ResidualCNN, custom, export

ATOL = RTOL = 1e-4


@pytest.mark.parametrize(
    ("make_net", "training", "precision"),
    [(MLP, False, "fp32"), (lambda: ResidualCNN(width=4), True, "cfp8")],
    ids=["mlp-fp32", "cnn-bn-cfp8"],
)
def test_an_imported_models_export_matches_the_fp32_evaluation(
    make_net: Callable[[], torch.nn.Module], training: bool, precision: str
) -> None:
    # The net is made after the seed: made at collection, its initial weights would depend
    # on what the rest of the suite drew from torch's generator first.
    torch.manual_seed(0)
    model = custom(export(make_net(), torch.randn(2, 1, 8, 8), training=training))
    config = TrainConfig(
        "onnx", dataset="digits", custom_model=model, precision=precision, batch_size=16, seed=3
    )
    trainer = Trainer(config)
    blob = trainer.snapshot(trainer.train(trainer.initial_state(), 4))

    weights = load(weights_safetensors(blob))
    trained = load_snapshot(blob)["model"]
    assert weights.keys() == trained.keys()
    assert all(torch.equal(weights[k], trained[k]) for k in trained)
    initial = Trainer(config).initial_state().model.state_dict()
    assert any(not torch.equal(initial[k], trained[k]) for k in trained)  # it did train

    session = ort.InferenceSession(onnx_model(config, blob), providers=["CPUExecutionProvider"])
    evaluator = Trainer(replace(config, precision="fp32"))
    state = evaluator.initial_state()
    state.model.load_state_dict(trained)
    platform = evaluator.evaluate(state)
    reference = fp32_model(config, blob)
    correct = count = near_ties = 0
    for x, y in evaluator.data.eval_batches(batch_size=64):
        with torch.no_grad():
            expected = reference(x).numpy()
        got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
        np.testing.assert_allclose(got, expected, atol=ATOL, rtol=RTOL)
        correct += int((got.argmax(-1) == y.numpy()).sum())
        count += len(y)
        # A sample whose two best logits are this close may rank either way under another
        # order of the same sums (the platform evaluates in batches of 256).
        top2 = np.sort(expected, axis=-1)[:, -2:]
        near_ties += int((top2[:, 1] - top2[:, 0] < 10 * (ATOL + RTOL)).sum())
    assert count == int(platform["samples"])
    assert abs(correct - platform["accuracy"] * count) <= near_ties + 1
