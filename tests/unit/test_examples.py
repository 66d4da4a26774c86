"""Every example job spec parses, validates and trains a step on the runtime."""

from __future__ import annotations

from pathlib import Path

import pytest

from dojo import specfile
from dojocloud.jobs.runtime_config import train_config
from dojocloud.jobs.validation import validate_spec

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))


def test_there_are_examples() -> None:
    assert any(p.name == "digits-mlp.yaml" for p in EXAMPLES)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_is_a_valid_spec(path: Path) -> None:
    spec = validate_spec(specfile.load(path))
    assert spec.training.steps > 0 and spec.resources.count > 0


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_trains_two_steps(path: Path) -> None:
    from dojo_runtime.training import Trainer

    trainer = Trainer(train_config(validate_spec(specfile.load(path))))
    state = trainer.train(trainer.initial_state(), 2)
    assert state.step == 2 and state.device_seconds > 0


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_keeps_every_accelerator_it_lists(path: Path) -> None:
    """Each example fits the memory of every type it accepts (validation drops none)."""
    asked = specfile.load(path)
    valid = validate_spec(asked)
    assert list(valid.resources.accelerators) == list(
        asked.resources.accelerators or valid.resources.accelerators
    )
