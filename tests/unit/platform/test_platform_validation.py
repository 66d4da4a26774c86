"""Spec validation: every bad field reported by its dotted name; defaults filled."""

from __future__ import annotations

import pytest

from dojocloud.common.errors import InvalidArgument
from dojocloud.jobs import facade as jobs
from dojocloud.jobs.models import Job
from dojocloud.jobs.validation import validate_spec
from scheduler.core import priority
from tests.support.people import make_spec


def fields_of(spec: object) -> set[str]:
    with pytest.raises(InvalidArgument) as info:
        validate_spec(spec)  # type: ignore[arg-type]
    return {v.field for v in info.value.violations}


def test_valid_spec_gets_defaults_and_is_a_copy() -> None:
    spec = make_spec(training={"steps": 500, "batch_size": 8, "learning_rate": 0.1})
    spec.ClearField("resources")
    valid = validate_spec(spec)
    assert valid.training.optimizer == "adam"
    assert valid.training.precision == "fp32"
    assert valid.training.checkpoint_interval == 100
    assert list(valid.resources.accelerators) == ["dojo-tile"] and valid.resources.count == 1
    assert valid.priority_class == "normal"
    assert valid.limits.max_runtime_seconds > 0
    assert spec.training.optimizer == ""  # the input is untouched


def test_every_bad_field_is_named_at_once() -> None:
    spec = make_spec(
        name="Bad Name!",
        model={"architecture": "mlp", "params": {"hidden": 0}},
        dataset={"name": "imagenet"},
        training={
            "steps": 0,
            "batch_size": -1,
            "optimizer": "lbfgs",
            "learning_rate": -1,
            "precision": "fp64",
            "checkpoint_interval": -2,
            "seed": -1,
        },
        resources={"accelerators": ["dojo-tile", "tpu-v5", "dojo-tile"], "count": 0},
        limits={"max_runtime_seconds": -5},
        priority_class="urgent",
    )
    assert fields_of(spec) == {
        "name",
        "model.params.hidden",
        "dataset.name",
        "training.steps",
        "training.batch_size",
        "training.optimizer",
        "training.learning_rate",
        "training.precision",
        "training.checkpoint_interval",
        "training.seed",
        "resources.accelerators[1]",
        "resources.accelerators[2]",
        "limits.max_runtime_seconds",
        "priority_class",
    } - {"resources.count"}  # count 0 means the default of 1


def test_count_must_fit_the_largest_pool_of_the_inventory() -> None:
    # dev.yaml: one tray of 6 tiles, GPU nodes of 8.
    assert fields_of(make_spec(resources={"accelerators": ["dojo-tile"], "count": 7})) == {
        "resources.count"
    }
    assert validate_spec(make_spec(resources={"accelerators": ["gpu-a100"], "count": 16}))
    assert fields_of(make_spec(resources={"accelerators": ["gpu-h100"], "count": 9})) == {
        "resources.count"
    }


def test_missing_required_fields() -> None:
    spec = make_spec(name="")
    spec.ClearField("model")
    spec.ClearField("dataset")
    assert {"name", "model.architecture", "dataset.name"} <= fields_of(spec)


def test_npz_server_paths_are_refused() -> None:
    assert fields_of(make_spec(dataset={"name": "npz"})) == {"dataset.name"}


def test_an_uploaded_dataset_needs_an_organization_to_resolve_in() -> None:
    assert fields_of(make_spec(dataset={"name": "organizations/a/datasets/d"})) == {"dataset.name"}


def test_checkpoint_interval_cannot_exceed_steps() -> None:
    spec = make_spec(
        training={"steps": 10, "batch_size": 8, "learning_rate": 0.1, "checkpoint_interval": 11}
    )
    assert fields_of(spec) == {"training.checkpoint_interval"}


def test_priority_classes_are_the_cores() -> None:
    """One owner: the scheduler core names the classes and gives their values; the platform
    validates against that table and stores its values, the ones it has always shown."""
    assert jobs.PRIORITY_CLASSES is priority.PRIORITY_CLASSES
    assert jobs.DEFAULT_PRIORITY_CLASS == priority.DEFAULT_PRIORITY_CLASS == "normal"
    assert dict(priority.PRIORITY_CLASSES) == {"low": 0, "normal": 1, "high": 2}
    assert Job().priority == priority.priority_value(None)
    for name in priority.PRIORITY_CLASSES:
        assert validate_spec(make_spec(priority_class=name)).priority_class == name


def test_given_resources_left_empty_are_errors_not_defaults() -> None:
    spec = make_spec()
    spec.resources.ClearField("accelerators")
    spec.resources.count = 0
    with pytest.raises(InvalidArgument) as info:
        validate_spec(spec, given=jobs.RESOURCES_GIVEN)
    assert [(v.field, v.description) for v in info.value.violations] == [
        ("resources.accelerators", "choose at least one accelerator type"),
        ("resources.count", "must be at least 1"),
    ]
    # Not given (a job file that leaves them out): the defaults, as before.
    valid = validate_spec(spec)
    assert list(valid.resources.accelerators) == ["dojo-tile"] and valid.resources.count == 1
