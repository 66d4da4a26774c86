"""The runtime's typed failures: a NaN or infinite loss stops training with its step
(Diverged), a dataset that cannot be loaded is InvalidData, a configuration the runtime
cannot train is UnsupportedModel; all still ValueErrors/ArithmeticErrors for old callers."""

from __future__ import annotations

import hashlib
import math

import pytest

from dojo_runtime.config import CustomData, StepMetrics, TrainConfig
from dojo_runtime.failures import (
    Diverged,
    InvalidData,
    UnsupportedModel,
    check_finite_loss,
)
from dojo_runtime.training import Trainer


@pytest.mark.parametrize(
    ("loss", "diverged"),
    [
        (0.0, False),
        (2.3, False),
        (1e38, False),
        (-1.0, False),
        (math.nan, True),
        (math.inf, True),
        (-math.inf, True),
    ],
)
def test_check_finite_loss(loss: float, diverged: bool) -> None:
    if not diverged:
        check_finite_loss(12, loss)
        return
    with pytest.raises(Diverged) as info:
        check_finite_loss(12, loss)
    assert info.value.step == 12
    assert str(info.value) == f"the loss became {loss} at step 12"


def diverging_config(precision: str = "fp32") -> TrainConfig:
    """SGD at the largest learning rate a spec may ask for, on a deeper MLP: the loss
    grows by orders of magnitude each step and overflows within ten."""
    return TrainConfig(
        "mlp",
        {"hidden": 64, "layers": 3},
        batch_size=16,
        optimizer="sgd",
        learning_rate=10.0,
        precision=precision,
        seed=3,
    )


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_a_diverging_job_stops_at_the_first_non_finite_loss(precision: str) -> None:
    trainer = Trainer(diverging_config(precision))
    seen: list[StepMetrics] = []
    with pytest.raises(Diverged) as info:
        trainer.train(trainer.initial_state(), 100, on_step=seen.append)
    step = info.value.step
    assert 1 < step < 100
    assert not math.isfinite(info.value.loss)
    # Every step before it was reported, with a finite loss; the diverged one was not.
    assert [m.step for m in seen] == list(range(1, step))
    assert all(math.isfinite(m.loss) for m in seen)


def test_a_sane_job_does_not_diverge() -> None:
    config = TrainConfig("mlp", {"hidden": 8, "layers": 1}, batch_size=16, learning_rate=0.05)
    trainer = Trainer(config)
    assert trainer.train(trainer.initial_state(), 30).step == 30


def test_bytes_that_do_not_load_are_invalid_data() -> None:
    payload = b"this is not an npz file"
    meta = CustomData("npz", (64,), 10, 100, hashlib.sha256(payload).hexdigest())
    config = TrainConfig("mlp", {"hidden": 8}, "organizations/a/datasets/d", meta)
    with pytest.raises(InvalidData, match="not an .npz file"):
        Trainer(config, payload=payload)
    with pytest.raises(InvalidData, match="sha256"):
        Trainer(config, payload=b"other bytes")


def test_a_model_the_runtime_cannot_build_is_unsupported() -> None:
    with pytest.raises(UnsupportedModel, match=r"^model\.architecture"):
        Trainer(TrainConfig("lstm"))
    # Still a ValueError naming the field, as callers expect.
    with pytest.raises(ValueError, match=r"^training\.optimizer"):
        Trainer(TrainConfig("mlp", optimizer="lion"))
